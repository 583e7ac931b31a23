// Pods on the oci driver driven through the public pod ABI (tests/unit/pod_test_util.hpp), each
// test with a private runtime root and state directory that are cleaned up whatever happens
// (RAII), a census of what a pod may leave behind, and a tiny HTTP responder listening inside
// a pod's network namespace (the article's "mysql"/"redis" that init containers wait for).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "oci_fixture.hpp"
#include "tests/unit/pod_test_util.hpp"

namespace lifehook::testing {

// A runtime root and a state directory of one test, under /tmp/lifehook-ocipod-<pid>-<n>.
class OciPodDirs {
 public:
  OciPodDirs() {
    static std::atomic<int> counter{0};
    base_ = "/tmp/lifehook-ocipod-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    std::filesystem::create_directories(root());
    std::filesystem::create_directories(state());
  }
  // Whatever a failed test left: every container of the root deleted, namespace mounts gone.
  ~OciPodDirs() {
    run_command("for id in $(runc --root " + root() + " list -q 2>/dev/null); do runc --root " + root() +
                " delete -f $id >/dev/null 2>&1; done");
    run_command("grep -o ' " + base_ + "/[^ ]*' /proc/self/mountinfo | xargs -r -n1 umount -l 2>/dev/null");
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
  }
  OciPodDirs(const OciPodDirs&) = delete;
  OciPodDirs& operator=(const OciPodDirs&) = delete;

  std::string root() const { return base_ + "/root"; }
  std::string state() const { return base_ + "/pods"; }

  // Pod options for the oci driver with these directories (host rootfs, pod network) and short
  // crash-loop backoffs so restarts happen in a test's time.
  nlohmann::json options(nlohmann::json extra = nlohmann::json::object()) const {
    nlohmann::json o = {{"driver", "oci"},  {"root", root()},          {"stateDir", state()},
                        {"rootfs", "host"}, {"backoffInitialMs", 300}, {"backoffMaxMs", 2000}};
    o.update(extra);
    return o;
  }

  // The network namespace file of the (one) pod sandbox under state(); "" before it exists.
  std::string sandbox_netns() const { return first_match(state() + "/*/sandbox/netns"); }

  // Host pid of the running container whose runtime id contains `part`; -1 when there is none.
  int container_pid(const std::string& part) const {
    std::string out = run_command("runc --root " + root() + " list -f json 2>/dev/null");
    nlohmann::json list = nlohmann::json::parse(out, nullptr, false);
    if (!list.is_array()) return -1;
    for (const auto& c : list)
      if (c.value("id", "").find(part) != std::string::npos && c.value("status", "") == "running")
        return c.value("pid", -1);
    return -1;
  }

  // Everything the pods of this test left behind, one line each ("" when nothing): containers in
  // `runc list`, entries in the runtime root or the state dir, namespace mounts, processes in a
  // cgroup named after `pod_name`'s containers, and children of this process.
  std::string leftovers(const std::string& pod_name) const {
    std::string out;
    std::string listed = run_command("runc --root " + root() + " list -q 2>&1");
    if (!listed.empty()) out += "runc list: " + listed;
    for (const std::string& dir : {root(), state()}) {
      std::error_code ec;
      for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
        out += "left in " + dir + ": " + e.path().string() + "\n";
    }
    std::string mounts = run_command("grep -F " + shell_quote(base_) + " /proc/self/mountinfo");
    if (!mounts.empty()) out += "mounts: " + mounts;
    // Container ids are lh-<pod>-<container>-<pid of the library's host>-<n>.
    std::string token = "lh-" + pod_name + "-[^/]*-" + std::to_string(::getpid()) + "-";
    std::string in_cgroup = run_command("grep -lE " + shell_quote(token) + " /proc/[0-9]*/cgroup 2>/dev/null");
    if (!in_cgroup.empty()) out += "processes in the pod's cgroups: " + in_cgroup;
    for (const auto& child : children()) out += "child process: " + child + "\n";
    return out;
  }

  // What the runtime and the pods look like right now, for a failure message: `runc list`, the
  // files under the state dir with the runtime's logs, and the process tree below this process.
  std::string snapshot() const {
    return "runc list:\n" + run_command("runc --root " + root() + " list 2>&1") + "state:\n" +
           run_command("find " + state() + " -maxdepth 2 2>&1; tail -n 5 " + state() + "/*/*/container.log 2>&1") +
           "pidfds of this process:\n" +
           run_command("for f in /proc/" + std::to_string(::getpid()) +
                       "/fd/*; do [ \"$(readlink $f)\" = 'anon_inode:[pidfd]' ] && grep -H Pid /proc/" +
                       std::to_string(::getpid()) + "/fdinfo/${f##*/}; done 2>/dev/null") +
           "processes:\n" +
           run_command("ps -o pid,ppid,stat,etimes,wchan:24,args --forest -g $(ps -o sid= " +
                       std::to_string(::getpid()) + ") 2>&1");
  }

  // "pid state (comm)" of every process whose parent is this one (zombies included).
  static std::vector<std::string> children() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
      std::string pid = e.path().filename().string();
      if (pid.empty() || !std::isdigit(static_cast<unsigned char>(pid[0]))) continue;
      std::string stat = podtest::read_file("/proc/" + pid + "/stat");
      auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      char state = 0;
      int ppid = 0;
      // The context's cgroup guard (plugin/os/cgroup_guard) lives until the last lifehook_ctx_free, by design.
      if (stat.find("(lifehook-guard)") != std::string::npos) continue;
      if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == ::getpid())
        out.push_back(pid + " " + state + " " + stat.substr(stat.find('('), close - stat.find('(') + 1));
    }
    return out;
  }

 private:
  static std::string first_match(const std::string& pattern) {
    glob_t g{};
    std::string found;
    if (::glob(pattern.c_str(), 0, nullptr, &g) == 0 && g.gl_pathc > 0) found = g.gl_pathv[0];
    ::globfree(&g);
    return found;
  }
  std::string base_;
};

// An HTTP/1.0 server on 127.0.0.1:port INSIDE a network namespace (a thread that entered it),
// answering every request with `body` and recording when each path was asked for.
class NetnsHttpResponder {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hit {
    std::string path;
    Clock::time_point at;
  };

  NetnsHttpResponder(const std::string& netns_path, int port, std::string body = "ok\n") : body_(std::move(body)) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return;
    stop_read_ = pipe_fds[0], stop_write_ = pipe_fds[1];
    std::promise<std::string> ready;
    auto started = ready.get_future();
    thread_ = std::thread([this, netns_path, port, &ready] { serve(netns_path, port, ready); });
    error_ = started.get();
  }
  ~NetnsHttpResponder() {
    if (stop_write_ >= 0) (void)!::write(stop_write_, "x", 1);
    if (thread_.joinable()) thread_.join();
    for (int fd : {stop_read_, stop_write_})
      if (fd >= 0) ::close(fd);
  }
  NetnsHttpResponder(const NetnsHttpResponder&) = delete;
  NetnsHttpResponder& operator=(const NetnsHttpResponder&) = delete;

  const std::string& error() const { return error_; }  // "" once listening
  std::vector<Hit> hits() {
    std::lock_guard lock(mu_);
    return hits_;
  }
  // When `path` was first asked for (nullopt: not yet).
  std::optional<Clock::time_point> first(const std::string& path) {
    for (const auto& h : hits())
      if (h.path == path) return h.at;
    return std::nullopt;
  }

 private:
  void serve(const std::string& netns_path, int port, std::promise<std::string>& ready) {
    int ns = ::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
      ready.set_value("enter " + netns_path + ": " + std::strerror(errno));
      if (ns >= 0) ::close(ns);
      return;
    }
    ::close(ns);
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 16) != 0) {
      ready.set_value("listen on 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
      ::close(s);
      return;
    }
    ready.set_value("");
    for (;;) {
      pollfd p[2] = {{s, POLLIN, 0}, {stop_read_, POLLIN, 0}};
      if (::poll(p, 2, -1) < 0 && errno != EINTR) break;
      if (p[1].revents) break;
      if (!(p[0].revents & POLLIN)) continue;
      int c = ::accept4(s, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string request;
      char buf[1024];
      pollfd cp{c, POLLIN, 0};
      while (request.find("\r\n\r\n") == std::string::npos && ::poll(&cp, 1, 2000) > 0) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      std::string path;
      if (auto sp = request.find(' '); sp != std::string::npos)
        path = request.substr(sp + 1, request.find(' ', sp + 1) - sp - 1);
      {
        std::lock_guard lock(mu_);
        hits_.push_back({path, Clock::now()});
      }
      std::string reply = "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(body_.size()) +
                          "\r\nConnection: close\r\n\r\n" + body_;
      (void)!::write(c, reply.data(), reply.size());
      ::close(c);
    }
    ::close(s);
  }

  std::string body_;
  std::string error_;
  int stop_read_ = -1, stop_write_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Hit> hits_;
};

// Milliseconds of the day of an event's RFC 3339 "time" ("...THH:MM:SS.mmmZ"); -1 if unparsable.
inline int64_t event_ms_of_day(const nlohmann::json& event) {
  std::string t = event.value("time", "");
  auto tpos = t.find('T');
  int h = 0, m = 0, s = 0, ms = 0;
  if (tpos == std::string::npos || std::sscanf(t.c_str() + tpos + 1, "%d:%d:%d.%d", &h, &m, &s, &ms) != 4) return -1;
  return ((h * 60 + m) * 60 + s) * 1000 + ms;
}

// The events of one reason and container, in order.
inline std::vector<nlohmann::json> events_of(podtest::Events& events, const std::string& reason,
                                             const std::string& container) {
  std::vector<nlohmann::json> out;
  for (const auto& e : events.snapshot())
    if (e.value("reason", "") == reason && e.value("container", "") == container) out.push_back(e);
  return out;
}

}  // namespace lifehook::testing
