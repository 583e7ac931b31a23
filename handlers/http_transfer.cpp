#include "http_transfer.hpp"

#include <strings.h>

#include <algorithm>
#include <new>

namespace lifehook {

HttpTransfer::HttpTransfer(const CURLU* url, const Settings& settings, CurlMulti& multi)
    : url_(curl_url_dup(const_cast<CURLU*>(url))), excerpt_limit_(std::min(settings.excerpt_bytes, kMaxBodyBytes)) {
  easy_ = curl_easy_init();
  if (!easy_ || !url_) {
    if (easy_) curl_easy_cleanup(easy_);
    throw std::bad_alloc();
  }
  for (const auto& line : settings.headers.lines) {
    curl_slist* next = curl_slist_append(header_list_, line.c_str());
    if (!next) {
      curl_slist_free_all(header_list_);
      curl_easy_cleanup(easy_);
      throw std::bad_alloc();
    }
    header_list_ = next;
  }
  user_agent_ = settings.headers.user_agent;

  curl_easy_setopt(easy_, CURLOPT_CURLU, url_.get());
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);  // as Go's client with a custom TLS config
  curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);                   // redirects are our policy (http_get.cpp)
  // The node's proxy settings must never apply to a pod (K9): no proxy, whatever the environment says.
  curl_easy_setopt(easy_, CURLOPT_PROXY, "");
  curl_easy_setopt(easy_, CURLOPT_NOPROXY, "*");
  // A fresh connection per request and none kept afterwards (K8, C6): a probe never fails on a
  // stale pooled connection, and a connection made in one pod's network namespace is never
  // reused for a request meant for another namespace (target.netns).
  curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, 1L);
  // No signals: no alarm()-based resolver timeouts in someone else's process (C3).
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  // No CURLOPT_ACCEPT_ENCODING: no Accept-Encoding header, no decompression (DisableCompression).
  curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, settings.verify_tls ? 1L : 0L);
  curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, settings.verify_tls ? 2L : 0L);
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, header_list_);
  if (!user_agent_.empty()) curl_easy_setopt(easy_, CURLOPT_USERAGENT, user_agent_.c_str());
  curl_easy_setopt(easy_, CURLOPT_BUFFERSIZE, static_cast<long>(kMaxBodyBytes));
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &HttpTransfer::on_body);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &HttpTransfer::on_header);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_);
  sockets_.netns = settings.netns;
  multi.configure_sockets(easy_, &sockets_);
}

HttpTransfer::~HttpTransfer() {
  curl_easy_cleanup(easy_);
  curl_slist_free_all(header_list_);
}

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
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

std::string HttpTransfer::error_text(CURLcode rc) const {
  std::string s = curl_easy_strerror(rc);
  if (error_[0]) {
    std::string detail(error_);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
    s += ": " + detail;
  }
  return s;
}

}  // namespace lifehook
