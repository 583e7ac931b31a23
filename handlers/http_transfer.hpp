// One HTTP GET on one curl easy handle, configured for probing: a fresh connection, no proxy,
// no compression, no automatic redirects, at most 10 KiB of body read. The CurlMulti drives it;
// its callbacks run on the multi's strand and only touch this object.
#pragma once

#include <curl/curl.h>

#include <string>

#include "curl_easy.hpp"
#include "curl_multi.hpp"
#include "http_request.hpp"

namespace lifehook {

// The kubelet reads at most 10 KiB of a response body (maxRespBodyLength, K6).
inline constexpr size_t kMaxBodyBytes = 10 * 1024;

class HttpTransfer {
 public:
  struct Settings {
    HeaderPlan headers;
    bool verify_tls = false;
    size_t excerpt_bytes = 1024;  // kept for the result's output
    std::string netns;            // network namespace file to connect from (empty: the host's)
  };

  // Throws std::bad_alloc when curl cannot allocate a handle.
  HttpTransfer(const CURLU* url, const Settings& settings, CurlMulti& multi);
  ~HttpTransfer();
  HttpTransfer(const HttpTransfer&) = delete;
  HttpTransfer& operator=(const HttpTransfer&) = delete;

  CURL* easy() const { return easy_.get(); }
  const CURLU* url() const { return url_.get(); }

  // After completion (read on the run's strand once the multi reported the result):
  // true when the server answered (headers complete), even if we stopped reading the body.
  bool got_response(CURLcode rc) const;
  long status() const;
  const std::string& location() const { return location_; }  // the last response's raw Location
  const std::string& excerpt() const { return excerpt_; }
  size_t body_bytes() const { return body_bytes_; }
  bool body_capped() const { return capped_; }
  // "Couldn't connect to server: Failed to connect to 127.0.0.1 port 1 ..."
  std::string error_text(CURLcode rc) const { return easy_.error_text(rc); }
  // Why no socket could be created in Settings::netns ("target.netns: cannot enter ..."), or "".
  const std::string& netns_error() const { return easy_.netns_error(); }

 private:
  static size_t on_body(char* data, size_t size, size_t n, void* self);
  static size_t on_header(char* data, size_t size, size_t n, void* self);

  CurlUrl url_;  // before easy_: the handle uses it until it is cleaned up
  ProbeEasy easy_;
  size_t excerpt_limit_;
  std::string excerpt_;
  size_t body_bytes_ = 0;
  bool capped_ = false;
  std::string location_;
};

}  // namespace lifehook
