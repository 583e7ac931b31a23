#include "http_transfer.hpp"

#include <strings.h>

#include <algorithm>
#include <new>

namespace lifehook {

HttpTransfer::HttpTransfer(const CURLU* url, const Settings& settings, CurlMulti& multi)
    : url_(curl_url_dup(const_cast<CURLU*>(url))),
      easy_({settings.headers.lines, settings.headers.user_agent, settings.netns},
            {&HttpTransfer::on_body, &HttpTransfer::on_header, this}, multi),
      excerpt_limit_(std::min(settings.excerpt_bytes, kMaxBodyBytes)) {
  if (!url_) throw std::bad_alloc();
  CURL* easy = easy_.get();
  curl_easy_setopt(easy, CURLOPT_CURLU, url_.get());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);  // as Go's client with a custom TLS config
  // No CURLOPT_ACCEPT_ENCODING: no Accept-Encoding header, no decompression (DisableCompression).
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, settings.verify_tls ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, settings.verify_tls ? 2L : 0L);
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, static_cast<long>(kMaxBodyBytes));
}

HttpTransfer::~HttpTransfer() = default;

// At most kMaxBodyBytes are read. Once more arrives we stop the transfer (the write error is
// ours, see got_response): a 200 that streams forever completes as soon as the headers and
// 10 KiB are in (kubernetes#122948). Side effect, documented by the kubelet too
// (kubernetes/website#52724): closing a socket with unread data makes the kernel send an RST,
// so the server may log "connection reset by peer" or "broken pipe".
size_t HttpTransfer::on_body(char* data, size_t size, size_t n, void* p) {
  auto* self = static_cast<HttpTransfer*>(p);
  size_t len = size * n;
  if (self->excerpt_.size() < self->excerpt_limit_)
    self->excerpt_.append(data, std::min(len, self->excerpt_limit_ - self->excerpt_.size()));
  self->body_bytes_ += len;
  if (self->body_bytes_ > kMaxBodyBytes) {
    self->capped_ = true;
    return 0;  // CURLE_WRITE_ERROR: stop reading
  }
  return len;
}

// Keeps the Location of the last response (interim 1xx responses and redirects reset it).
size_t HttpTransfer::on_header(char* data, size_t size, size_t n, void* p) {
  auto* self = static_cast<HttpTransfer*>(p);
  size_t len = size * n;
  std::string_view line(data, len);
  if (line.substr(0, 5) == "HTTP/") {
    self->location_.clear();
    self->excerpt_.clear();
    self->body_bytes_ = 0;
  } else if (len > 9 && strncasecmp(data, "location:", 9) == 0) {
    std::string_view v = line.substr(9);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ' || v.back() == '\t'))
      v.remove_suffix(1);
    self->location_ = std::string(v);
  }
  return len;
}

bool HttpTransfer::got_response(CURLcode rc) const { return rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && capped_); }

long HttpTransfer::status() const {
  long code = 0;
  curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &code);
  return code;
}

}  // namespace lifehook
