// The curl easy handle of one network probe, with what every network handler (httpGet, grpc)
// configures alike: never the node's proxy (K9), a fresh connection that is never reused, so a
// probe never fails on a stale pooled connection and one made in a pod's network namespace
// serves no other request (K8, C6), no signals (no alarm()-based resolver timeouts in someone
// else's process, C3), no redirects followed by curl, the request headers and user agent, the
// body and header callbacks, an error buffer, and the sockets of CurlMulti::configure_sockets
// (SOCK_CLOEXEC, created in the target's network namespace). The handler sets the rest (URL,
// protocols, HTTP version, method, TLS) on easy().
#pragma once

#include <curl/curl.h>

#include <string>
#include <vector>

#include "curl_multi.hpp"

namespace lifehook {

class ProbeEasy {
 public:
  struct Settings {
    std::vector<std::string> header_lines;  // "Name: value"; "Name:" removes a curl default
    std::string user_agent;                 // empty: none set
    std::string netns;                      // network namespace file to connect from (empty: the host's)
  };
  // curl's write and header callbacks, both called with `data`, on the multi's strand.
  struct Callbacks {
    curl_write_callback on_body;
    curl_write_callback on_header;
    void* data;
  };

  // Throws std::bad_alloc when curl cannot allocate.
  ProbeEasy(const Settings& settings, Callbacks callbacks, CurlMulti& multi);
  ~ProbeEasy();
  ProbeEasy(const ProbeEasy&) = delete;  // curl holds pointers into it
  ProbeEasy& operator=(const ProbeEasy&) = delete;

  CURL* get() const { return easy_; }
  // "Couldn't connect to server: Failed to connect to 127.0.0.1 port 1 ..."
  std::string error_text(CURLcode rc) const;
  // Why no socket could be created in Settings::netns ("target.netns: cannot enter ..."), or "".
  const std::string& netns_error() const { return sockets_.error; }

 private:
  CurlMulti& multi_;
  CURL* easy_ = nullptr;
  curl_slist* header_list_ = nullptr;
  std::string user_agent_;
  char error_[CURL_ERROR_SIZE] = {};
  CurlMulti::SocketNamespace sockets_;  // curl's open-socket callback reads and writes it
};

}  // namespace lifehook
