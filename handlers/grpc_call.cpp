#include "grpc_call.hpp"

#include <strings.h>

#include <algorithm>

#include "grpc_wire.hpp"
#include "http_request.hpp"

namespace lifehook {

namespace {

std::string_view trimmed_value(std::string_view line, size_t name_length) {
  std::string_view v = line.substr(name_length);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  return v;
}

bool starts_with_name(std::string_view line, std::string_view name) {
  return line.size() >= name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0;
}

// Header names in lower case: HTTP/2 requires it (RFC 9113 §8.2.1). curl turns "te: trailers"
// into the one TE value HTTP/2 allows; gRPC servers require it to detect incompatible proxies.
// "Accept:" and "Expect:" remove curl's defaults, which gRPC does not send.
ProbeEasy::Settings easy_settings(const GrpcCall::Settings& settings) {
  ProbeEasy::Settings s;
  s.header_lines = {"content-type: application/grpc", "te: trailers", "Accept:", "Expect:"};
  if (settings.timeout_ms > 0)
    s.header_lines.push_back("grpc-timeout: " + grpc_wire::timeout_header(settings.timeout_ms));
  s.user_agent = settings.user_agent;
  s.netns = settings.netns;
  return s;
}

}  // namespace

GrpcCall::GrpcCall(const CURLU* url, std::string request, const Settings& settings, CurlMulti& multi)
    : request_(std::move(request)),
      easy_(easy_settings(settings), {&GrpcCall::on_body, &GrpcCall::on_header, this}, multi) {
  CURL* easy = easy_.get();
  curl_easy_setopt(easy, CURLOPT_URL, url_text(url).c_str());  // curl copies the string
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(request_.size()));
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request_.data());
}

GrpcCall::~GrpcCall() = default;

// At most one frame header and kMaxMessageBytes are kept; once more arrives the transfer stops
// (CURLE_WRITE_ERROR) and the run reports the message as too large from its frame header.
size_t GrpcCall::on_body(char* data, size_t size, size_t n, void* p) {
  auto* self = static_cast<GrpcCall*>(p);
  size_t len = size * n;
  constexpr size_t kLimit = grpc_wire::kFrameHeaderBytes + kMaxMessageBytes;
  size_t room = kLimit - self->body_.size();
  self->body_.append(data, std::min(len, room));
  if (len > room) {
    self->capped_ = true;
    return 0;
  }
  return len;
}

// Headers and trailers both arrive here (curl passes HTTP/2 trailers to the header callback when
// the stream closes); a Trailers-Only response carries grpc-status in its headers.
size_t GrpcCall::on_header(char* data, size_t size, size_t n, void* p) {
  auto* self = static_cast<GrpcCall*>(p);
  size_t len = size * n;
  std::string_view line(data, len);
  if (line.substr(0, 5) == "HTTP/") {
    // "HTTP/2 200": a new response (an interim 1xx is replaced by the final one).
    size_t sp = line.find(' ');
    self->http_status_ =
        sp == std::string_view::npos ? 0 : std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
    self->content_type_.clear();
    self->grpc_status_.reset();
    self->grpc_message_raw_.clear();
  } else if (starts_with_name(line, "content-type:")) {
    self->content_type_ = std::string(trimmed_value(line, 13).substr(0, 256));
  } else if (starts_with_name(line, "grpc-status:")) {
    std::string v(trimmed_value(line, 12));
    bool digits = !v.empty() && v.size() <= 9 && v.find_first_not_of("0123456789") == std::string::npos;
    self->grpc_status_ = digits ? std::stoll(v) : grpc_wire::kUnknownCode;  // grpc-go: malformed → Unknown
  } else if (starts_with_name(line, "grpc-message:")) {
    self->grpc_message_raw_ = std::string(trimmed_value(line, 13).substr(0, kMaxStatusMessageBytes));
  }
  return len;
}

std::string GrpcCall::grpc_message() const { return utf8_excerpt(grpc_wire::percent_decode(grpc_message_raw_)); }

bool GrpcCall::connected() const {
  curl_off_t t = 0;
  return curl_easy_getinfo(easy_.get(), CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK && t > 0;
}

}  // namespace lifehook
