// Helpers for the pod behaviour tests: they drive pods through the public C ABI only, with real
// processes, and observe them the way a host would (status polling and event watchers).
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "lifehook/lifehook.h"

namespace podtest {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Ctx {
  lifehook_ctx* ctx = nullptr;
  explicit Ctx(const char* options_json = nullptr) {
    // LIFEHOOK_TEST_THREADS=N gives every context without options of its own N loop threads: the
    // stress stage of tests/run runs the pod tests on one loop thread and on two.
    std::string threads_option;
    if (const char* threads = std::getenv("LIFEHOOK_TEST_THREADS"); threads && !options_json) {
      threads_option = std::string(R"({"threads": )") + std::to_string(std::atoi(threads)) + "}";
      options_json = threads_option.c_str();
    }
    char* err = nullptr;
    EXPECT_EQ(lifehook_ctx_new(options_json, &ctx, &err), LIFEHOOK_OK) << (err ? err : "");
    lifehook_free(err);
    // LIFEHOOK_TEST_LOG=0..5 routes the library's log (0 = trace) to stderr: the way to see what a
    // pod was doing when a test timed out.
    if (const char* level = std::getenv("LIFEHOOK_TEST_LOG"); level && ctx)
      lifehook_ctx_set_logger(ctx, &Ctx::to_stderr, nullptr, std::atoi(level));
  }
  static void to_stderr(void*, int level, const char* message) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
    std::fprintf(stderr, "[lifehook %d %lld.%06lld] %s\n", level, static_cast<long long>(us / 1000000),
                 static_cast<long long>(us % 1000000), message);
  }
  ~Ctx() { lifehook_ctx_free(ctx); }
};

// Every event of a pod, as received by a watcher.
struct Events {
  std::mutex mu;
  std::vector<json> list;
  static void on_event(void* user, const char* text) {
    auto* self = static_cast<Events*>(user);
    std::lock_guard<std::mutex> lock(self->mu);
    self->list.push_back(json::parse(text));
  }
  std::vector<json> snapshot() {
    std::lock_guard<std::mutex> lock(mu);
    return list;
  }
  // "Reason:container" strings, in order.
  std::vector<std::string> reasons() {
    std::vector<std::string> out;
    for (const auto& e : snapshot())
      out.push_back(e["reason"].get<std::string>() + ":" + e["container"].get<std::string>());
    return out;
  }
  size_t count(const std::string& reason_container) {
    size_t n = 0;
    for (const auto& r : reasons()) n += r == reason_container;
    return n;
  }
};

struct Pod {
  lifehook_pod* pod = nullptr;
  Events events;
  std::vector<std::string> columns;  // display.status values seen by poll(), consecutive duplicates dropped

  Pod(lifehook_ctx* ctx, const json& spec, const json& options = json(), const lifehook_driver* driver = nullptr) {
    char* err = nullptr;
    std::string opts = options.is_null() ? std::string() : options.dump();
    int rc = lifehook_pod_create(ctx, spec.dump().c_str(), opts.empty() ? nullptr : opts.c_str(), driver, &pod, &err);
    EXPECT_EQ(rc, LIFEHOOK_OK) << (err ? err : "");
    lifehook_free(err);
    if (pod) {
      EXPECT_EQ(lifehook_pod_watch(pod, &Events::on_event, &events), LIFEHOOK_OK);
    }
  }
  ~Pod() { lifehook_pod_destroy(pod); }

  json status() {
    char* s = nullptr;
    EXPECT_EQ(lifehook_pod_status(pod, &s), LIFEHOOK_OK);
    json j = s ? json::parse(s) : json::object();
    lifehook_free(s);
    if (j.contains("display")) {
      std::string c = j["display"]["status"];
      if (columns.empty() || columns.back() != c) columns.push_back(c);
    }
    return j;
  }
  // Polls the status every 5 ms until pred holds; false on timeout.
  bool poll(const std::function<bool(const json&)>& pred, int timeout_ms = 10000) {
    auto t0 = Clock::now();
    while (ms_since(t0) < timeout_ms) {
      if (pred(status())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred(status());
  }
  bool poll_column(const std::string& col, int timeout_ms = 10000) {
    return poll([&](const json& s) { return s["display"]["status"] == col; }, timeout_ms);
  }
};

// A TCP listener on 127.0.0.1 that the test opens when it wants.
struct Port {
  int fd = -1;
  int port = 0;
  Port() {
    // Reserve a free port number by binding to port 0, then close it until open() is called.
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    close(s);
  }
  void open() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(listen(fd, 64), 0);
  }
  ~Port() {
    if (fd >= 0) close(fd);
  }
};

// Processes whose command line contains marker (e.g. a unique sleep duration).
inline int count_processes(const std::string& marker) {
  int n = 0;
  DIR* d = opendir("/proc");
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    // read(2), not ifstream: a process exiting mid-read makes the read fail with ESRCH, which
    // libstdc++'s filebuf turns into an exception.
    std::string cmd;
    int fd = ::open((std::string("/proc/") + e->d_name + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[4096];
    for (ssize_t got; (got = ::read(fd, buf, sizeof buf)) > 0;) cmd.append(buf, static_cast<size_t>(got));
    ::close(fd);
    for (auto& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(marker) != std::string::npos && cmd.find("pod_test_marker_scan") == std::string::npos) {
      // Zombies have an empty cmdline, so they do not count here; a live process does.
      ++n;
    }
  }
  closedir(d);
  return n;
}

// A marker unique to this test run, usable as a sleep duration: "600.<pid, 7 digits><n, 4 digits>"
// (fixed widths, so two test processes running side by side can never produce the same one).
inline std::string marker_sleep() {
  static int n = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "600.%07d%04d", static_cast<int>(getpid()), ++n % 10000);
  return buf;
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline std::string temp_dir() {
  char tmpl[] = "/tmp/lifehook-pod-XXXXXX";
  return mkdtemp(tmpl);
}

inline json container(const std::string& name, const std::string& script) {
  return {{"name", name}, {"image", "busybox"}, {"command", {"sh", "-c", script}}};
}

inline json pod_json(const std::string& name, json containers, json init = json::array(), json extra = json::object()) {
  json spec = {{"containers", std::move(containers)}};
  if (!init.empty()) spec["initContainers"] = std::move(init);
  for (auto& [k, v] : extra.items()) spec[k] = v;
  return {
      {"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}, {"namespace", "default"}}}, {"spec", spec}};
}

}  // namespace podtest
