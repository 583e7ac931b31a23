// Helpers shared by the benchmark programs (each is its own executable).
#pragma once

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace lifehook::bench {

// The 1-minute load average (/proc/loadavg), -1 when unreadable: every result states it.
inline double load_average() {
  double l = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

// A listening TCP socket on 127.0.0.1 and an ephemeral port; `flags` go to socket() (SOCK_NONBLOCK).
inline int listen_loopback(int* port, int flags = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4096) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("cannot listen on 127.0.0.1");
  *port = ntohs(a.sin_port);
  return fd;
}

// The probe floor of tcpSocket (docs/PERFORMANCE.md): a non-blocking connect to 127.0.0.1:`port`,
// poll until it completes, SO_LINGER {1, 1 s}, close.
inline void floor_tcp_once(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, 1000);
  }
  linger l{1, 1};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

// The probe floor of httpGet: a fresh easy handle, a fresh connection, the body discarded.
inline size_t discard_body(char*, size_t size, size_t n, void*) { return size * n; }
inline void floor_http_once(const std::string& url) {
  CURL* e = curl_easy_init();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 1000L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_perform(e);
  curl_easy_cleanup(e);
}

}  // namespace lifehook::bench
