// Support for the fault suite: a host's-eye check around every case (no crash — we run in the
// host's process —, no process, cgroup, descriptor or thread left, nothing written to the host's
// stdout or stderr) and small misbehaving servers on 127.0.0.1.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "lifehook/lifehook.h"

namespace faults {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Totals for docs/RELIABILITY.md, printed at the end of the run.
struct Tally {
  std::atomic<int> cases{0};
  std::atomic<int> faults{0};      // misbehaving peers, processes or host conditions injected
  std::atomic<int> operations{0};  // handler runs submitted under a fault
  static Tally& get() {
    static Tally t;
    return t;
  }
};

inline std::string take(char* s) {
  std::string out = s ? s : "";
  lifehook_free(s);
  return out;
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
inline int count_fds() { return count_dir("/proc/self/fd") - 1; }
inline int count_threads() { return count_dir("/proc/self/task"); }

// Our descendants: processes whose parent chain leads to us (excluding zombies already reaped).
inline std::vector<int> descendants() {
  std::vector<std::pair<int, int>> procs;  // pid, ppid
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
      std::string line;
      std::getline(in, line);
      size_t close = line.rfind(')');
      if (close == std::string::npos) continue;
      char state = 0;
      int ppid = 0;
      if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) != 2) continue;
      procs.push_back({std::atoi(e->d_name), ppid});
    }
    ::closedir(d);
  }
  std::vector<int> out{::getpid()};
  for (size_t i = 0; i < out.size(); ++i)
    for (auto [pid, ppid] : procs)
      if (ppid == out[i]) out.push_back(pid);
  out.erase(out.begin());
  return out;
}

// cgroups "lifehook-<our pid>-*" anywhere in our cgroup directory.
inline int count_own_cgroups() {
  std::ifstream in("/proc/self/cgroup");
  std::string line, own;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) own = line.substr(3);
  std::string prefix = "lifehook-" + std::to_string(::getpid()) + "-";
  int n = 0;
  for (const char* mount : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    std::string dir = std::string(mount) + (own == "/" ? "" : own);
    if (DIR* d = ::opendir(dir.c_str())) {
      while (dirent* e = ::readdir(d))
        if (std::string(e->d_name).rfind(prefix, 0) == 0) ++n;
      ::closedir(d);
    }
  }
  return n;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto end = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// The host's view of one case: stdout and stderr go to files while it runs, and at the end
// nothing may have been written there, and no process, cgroup, descriptor or thread of ours may
// be left. Failure messages written meanwhile are replayed.
class HostCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    Tally::get().cases++;
    std::fflush(stdout);
    std::fflush(stderr);
    saved_out_ = ::dup(1);
    saved_err_ = ::dup(2);
    char out_tmpl[] = "/tmp/lifehook-faults-out-XXXXXX", err_tmpl[] = "/tmp/lifehook-faults-err-XXXXXX";
    out_fd_ = ::mkostemp(out_tmpl, O_CLOEXEC);
    err_fd_ = ::mkostemp(err_tmpl, O_CLOEXEC);
    ::unlink(out_tmpl);
    ::unlink(err_tmpl);
    ::dup2(out_fd_, 1);
    ::dup2(err_fd_, 2);
    fds_ = count_fds();
    threads_ = count_threads();
  }
  void TearDown() override {
    bool fds_back = eventually([&] { return count_fds() <= fds_; });
    bool threads_back = eventually([&] { return count_threads() <= threads_; });
    bool no_children = eventually([&] { return descendants().empty(); });
    bool no_cgroups = eventually([&] { return count_own_cgroups() == 0; });
    std::fflush(stdout);
    std::fflush(stderr);
    std::string out = slurp(out_fd_), err = slurp(err_fd_);
    ::dup2(saved_out_, 1);
    ::dup2(saved_err_, 2);
    for (int fd : {saved_out_, saved_err_, out_fd_, err_fd_}) ::close(fd);
    EXPECT_TRUE(fds_back) << "descriptors: " << count_fds() << " > " << fds_;
    EXPECT_TRUE(threads_back) << "threads: " << count_threads() << " > " << threads_;
    EXPECT_TRUE(no_children) << descendants().size() << " processes left";
    EXPECT_TRUE(no_cgroups) << count_own_cgroups() << " cgroups left";
    // gtest's own failure lines land in the capture too: replay them, and only count the rest.
    if (out.find(": Failure") != std::string::npos) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
    } else {
      EXPECT_TRUE(out.empty()) << "written to stdout:\n" << out;
    }
    EXPECT_TRUE(err.empty()) << "written to stderr:\n" << err;
  }

  static std::string slurp(int fd) {
    std::string s;
    char buf[4096];
    ::lseek(fd, 0, SEEK_SET);
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) s.append(buf, static_cast<size_t>(n));
    return s;
  }

 private:
  int saved_out_ = -1, saved_err_ = -1, out_fd_ = -1, err_fd_ = -1;
  int fds_ = 0, threads_ = 0;
};

// A context freed at scope exit.
class Ctx {
 public:
  explicit Ctx(const char* options = nullptr) {
    char* error = nullptr;
    if (lifehook_ctx_new(options, &ctx_, &error) != LIFEHOOK_OK) ADD_FAILURE() << take(error);
  }
  ~Ctx() { reset(); }
  void reset() {
    if (ctx_) lifehook_ctx_free(ctx_);
    ctx_ = nullptr;
  }
  lifehook_ctx* get() const { return ctx_; }
  // lifehook_run's result document, or {"rc": status, "error": text}.
  json run(const std::string& request) const {
    Tally::get().operations++;
    char* result = nullptr;
    char* error = nullptr;
    int rc = lifehook_run(ctx_, request.c_str(), &result, &error);
    if (rc != LIFEHOOK_OK) return json{{"rc", rc}, {"error", take(error)}};
    return json::parse(take(result));
  }

 private:
  lifehook_ctx* ctx_ = nullptr;
};

// A TCP server on `address` (127.x only) whose connections are handled by `serve(fd)` on a
// thread each; `backlog` and `accepting` shape the accept queue (accepting=false: never accept).
class FaultServer {
 public:
  using Serve = std::function<void(int fd, const std::atomic<bool>& stop)>;
  FaultServer(Serve serve, int backlog = 128, bool accepting = true, const char* address = "127.0.0.1")
      : serve_(std::move(serve)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, address, &a.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, backlog) != 0)
      throw std::runtime_error(std::string("cannot listen on ") + address);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (accepting) acceptor_ = std::thread([this] { accept_loop(); });
    Tally::get().faults++;
  }
  ~FaultServer() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      workers.swap(workers_);
    }
    for (auto& t : workers) t.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) != 1) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++accepted_;
      std::lock_guard<std::mutex> lock(mu_);
      workers_.emplace_back([this, c] {
        serve_(c, stop_);
        ::close(c);
      });
    }
  }
  Serve serve_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

// Waits for the request head (or the client going away, or stop).
inline void read_head(int fd, const std::atomic<bool>& stop) {
  std::string head;
  char buf[4096];
  while (!stop && head.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) != 1) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    head.append(buf, static_cast<size_t>(n));
  }
}
// Sleeps until stop or the client hangs up.
inline void hold(int fd, const std::atomic<bool>& stop) {
  while (!stop) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) == 1) {
      char c;
      if (::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) return;
      char buf[4096];
      if (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0) return;
    }
  }
}
inline bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

inline std::string http_get(int port, int timeout_ms, const std::string& host = "127.0.0.1") {
  return json{{"handler", {{"httpGet", {{"host", host}, {"port", port}, {"path", "/"}}}}}, {"timeoutMs", timeout_ms}}
      .dump();
}
inline std::string tcp_socket(int port, int timeout_ms) {
  return json{{"handler", {{"tcpSocket", {{"host", "127.0.0.1"}, {"port", port}}}}}, {"timeoutMs", timeout_ms}}.dump();
}
inline std::string exec(const std::string& script, int timeout_ms) {
  return json{{"handler", {{"exec", {{"command", {"sh", "-c", script}}}}}}, {"timeoutMs", timeout_ms}}.dump();
}

}  // namespace faults
