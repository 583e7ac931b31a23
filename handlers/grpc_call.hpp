// One unary gRPC call on one curl easy handle: a POST over HTTP/2 cleartext with prior knowledge
// (h2c, no HTTP/1.1 upgrade, as gRPC clients connect), the gRPC request headers, the framed
// request message as the body, and the response headers, trailers and body collected for the run
// to judge. Configured like a probe: a fresh connection, no proxy, no signals, bounded reading.
// The CurlMulti drives it; its callbacks run on the multi's strand and only touch this object.
#pragma once

#include <curl/curl.h>

#include <cstdint>
#include <optional>
#include <string>

#include "curl_easy.hpp"
#include "curl_multi.hpp"

namespace lifehook {

class GrpcCall {
 public:
  // The largest response message read (a HealthCheckResponse is 2 bytes): bigger ones are
  // refused as grpc-go refuses a message above its receive limit (ResourceExhausted).
  static constexpr size_t kMaxMessageBytes = 10 * 1024;
  // At most this much of grpc-message is kept.
  static constexpr size_t kMaxStatusMessageBytes = 1024;

  struct Settings {
    std::string user_agent;
    int64_t timeout_ms = 0;  // sent as grpc-timeout; 0: none sent
    std::string netns;       // network namespace file to connect from (empty: the host's)
  };

  // `url` is http://host:port/<service>/<method>; `request` the framed request message.
  // Throws std::bad_alloc when curl cannot allocate.
  GrpcCall(const CURLU* url, std::string request, const Settings& settings, CurlMulti& multi);
  ~GrpcCall();
  GrpcCall(const GrpcCall&) = delete;
  GrpcCall& operator=(const GrpcCall&) = delete;

  CURL* easy() const { return easy_.get(); }

  // After completion, or after the handle left the multi (read on the run's strand):
  bool got_headers() const { return http_status_ > 0; }  // an HTTP/2 response began
  long http_status() const { return http_status_; }
  const std::string& content_type() const { return content_type_; }
  std::optional<int64_t> grpc_status() const { return grpc_status_; }  // from headers or trailers
  std::string grpc_message() const;                                    // decoded, UTF-8 safe
  const std::string& body() const { return body_; }
  bool body_capped() const { return capped_; }
  bool connected() const;  // the TCP connection was established
  // "Couldn't connect to server: Failed to connect to 127.0.0.1 port 1 ..."
  std::string error_text(CURLcode rc) const { return easy_.error_text(rc); }
  // Why no socket could be created in Settings::netns, or "".
  const std::string& netns_error() const { return easy_.netns_error(); }

 private:
  static size_t on_body(char* data, size_t size, size_t n, void* self);
  static size_t on_header(char* data, size_t size, size_t n, void* self);

  std::string request_;  // before easy_: the handle sends it until it is cleaned up
  ProbeEasy easy_;
  long http_status_ = 0;
  std::string content_type_;
  std::optional<int64_t> grpc_status_;
  std::string grpc_message_raw_;
  std::string body_;
  bool capped_ = false;
};

}  // namespace lifehook
