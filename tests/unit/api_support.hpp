// Helpers for tests that drive the library through its C ABI, as a host would: a context that
// frees itself, result parsing, a loopback listener, and process-wide resource counts.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>

#include "lifehook/lifehook.h"

namespace lifehook_test {

using json = nlohmann::json;

// Takes ownership of a library-returned string.
inline std::string take(char* s) {
  std::string out = s ? s : "";
  lifehook_free(s);
  return out;
}

// A context created through the C ABI and freed at scope exit.
class Ctx {
 public:
  explicit Ctx(const char* options = nullptr) {
    char* error = nullptr;
    int rc = lifehook_ctx_new(options, &ctx_, &error);
    if (rc != LIFEHOOK_OK) throw std::runtime_error("lifehook_ctx_new: " + take(error));
  }
  ~Ctx() { lifehook_ctx_free(ctx_); }
  Ctx(const Ctx&) = delete;
  Ctx& operator=(const Ctx&) = delete;
  lifehook_ctx* get() const { return ctx_; }
  // Frees now (for tests that check what is left afterwards).
  void reset() {
    lifehook_ctx_free(ctx_);
    ctx_ = nullptr;
  }

  // lifehook_run; fails the test unless it returns LIFEHOOK_OK, then gives the result document.
  json run(const std::string& request) const {
    char* result = nullptr;
    char* error = nullptr;
    int rc = lifehook_run(ctx_, request.c_str(), &result, &error);
    std::string err = take(error);
    EXPECT_EQ(rc, LIFEHOOK_OK) << lifehook_status_name(rc) << ": " << err;
    if (rc != LIFEHOOK_OK) return json::object();
    return json::parse(take(result));
  }

 private:
  lifehook_ctx* ctx_ = nullptr;
};

// A TCP listener on 127.0.0.1 with a kernel-chosen port; accepting is up to the test.
class Listener {
 public:
  explicit Listener(int backlog = 128) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, backlog) != 0)
      throw std::runtime_error("bind/listen on 127.0.0.1");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() {
    if (fd_ >= 0) ::close(fd_);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  int fd() const { return fd_; }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A port on 127.0.0.1 where nothing listens (bound, then released).
inline int closed_port() {
  Listener l;
  return l.port();
}

inline int count_dir(const char* path) {
  int n = 0;
  if (DIR* d = ::opendir(path)) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n;
}

inline int count_threads() { return count_dir("/proc/self/task"); }
inline int count_fds() { return count_dir("/proc/self/fd") - 1; }  // minus opendir's own

// Threads of this process whose name starts with `prefix` (event-loop threads are named
// "lifehook-loop"; threads they start inherit the name).
inline int count_threads_named(const std::string& prefix) {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
      std::string name;
      std::getline(comm, name);
      if (name.rfind(prefix, 0) == 0) ++n;
    }
    ::closedir(d);
  }
  return n;
}

// Waits (bounded) until pred() holds; returns whether it did.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace lifehook_test
