// A small driver for load-independent attribution: runs one kind of work through the public C ABI
// (or its floor) with the counters of valgrind's callgrind zeroed after the set-up and dumped at
// the end, so `valgrind --tool=callgrind` reports the instructions of exactly that work, and
// `strace -c -f` its system calls. The servers run in a forked child (callgrind writes the child's
// counts to a file of its own; strace -f counts both, subtract the server's with -p if needed).
//
// Usage: lifehook_cost MODE [COUNT] [SECONDS]
//   run-tcp N, run-http N       N lifehook_run calls one after the other (tcpSocket, httpGet)
//   floor-tcp N, floor-http N   the floors of docs/PERFORMANCE.md: non-blocking connect + poll +
//                               SO_LINGER 1 s + close; a fresh curl_easy_perform
//   probe-tcp N S, probe-http N S   N standalone probes at 1 Hz (lifehook_probe_start), measured
//                               over S seconds after one second of warm-up
// LIFEHOOK_BENCH_OPTIONS, when set, is the context's options JSON (e.g. {"threads": 1}).
// Prints the operations counted and, per operation, the context switches (getrusage) of this
// process; the callgrind totals divided by that count are the instructions per operation.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "lifehook/lifehook.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(x)
#endif

namespace {

using lifehook::bench::listen_loopback;

// Accepts and closes (tcp) or answers every request with a small 200 (http), in a child process.
pid_t serve(bool http, int* port) {
  int fd = listen_loopback(port);
  pid_t pid = fork();
  if (pid != 0) {
    ::close(fd);
    return pid;
  }
  for (;;) {
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    if (http) {
      std::string got;
      char buf[4096];
      while (got.find("\r\n\r\n") == std::string::npos) {
        pollfd p{c, POLLIN, 0};
        if (::poll(&p, 1, 2000) != 1) break;
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      if (::write(c, reply, sizeof reply - 1) < 0) {
      }
    }
    ::close(c);
  }
}

long attempts_of(lifehook_probe* p) {
  char* s = nullptr;
  long n = 0;
  if (lifehook_probe_state(p, &s) == LIFEHOOK_OK && s)
    if (const char* a = std::strstr(s, "\"attempts\":")) n = std::atol(a + 11);
  lifehook_free(s);
  return n;
}

void run_one(lifehook_ctx* ctx, const std::string& req) {
  char* result = nullptr;
  char* error = nullptr;
  int rc = lifehook_run(ctx, req.c_str(), &result, &error);
  bool ok = rc == LIFEHOOK_OK && std::strstr(result, "\"outcome\":\"success\"");
  std::string text = result ? result : (error ? error : "");
  lifehook_free(result);
  lifehook_free(error);
  if (!ok) throw std::runtime_error("did not succeed: " + text);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s run-tcp|run-http|floor-tcp|floor-http|probe-tcp|probe-http [N] [SECONDS]\n",
                 argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  long n = argc > 2 ? std::atol(argv[2]) : 1000;
  int seconds = argc > 3 ? std::atoi(argv[3]) : 5;
  bool http = mode.find("http") != std::string::npos;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int port = 0;
  pid_t server = serve(http, &port);
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/healthz";
  lifehook_ctx* ctx = nullptr;
  char* err = nullptr;
  if (mode.rfind("floor", 0) != 0 &&
      lifehook_ctx_new(std::getenv("LIFEHOOK_BENCH_OPTIONS"), &ctx, &err) != LIFEHOOK_OK) {
    std::fprintf(stderr, "lifehook_ctx_new: %s\n", err);
    return 1;
  }
  long ops = 0;
  rusage r0{}, r1{};
  try {
    if (mode.rfind("probe", 0) == 0) {
      std::string handler = http ? R"("httpGet": {"path": "/healthz", "port": )" + std::to_string(port) + "}"
                                 : R"("tcpSocket": {"port": )" + std::to_string(port) + "}";
      std::string probe = R"({"livenessProbe": {)" + handler + R"(, "periodSeconds": 1, "timeoutSeconds": 1}})";
      std::vector<lifehook_probe*> probes(static_cast<size_t>(n));
      auto start = std::chrono::steady_clock::now();
      for (long i = 0; i < n; ++i) {  // spread over one period
        std::this_thread::sleep_until(start + std::chrono::microseconds(1000000 * i / n));
        if (lifehook_probe_start(ctx, probe.c_str(), R"({"podIP": "127.0.0.1"})", nullptr, nullptr,
                                 &probes[static_cast<size_t>(i)], &err) != LIFEHOOK_OK)
          throw std::runtime_error(std::string("probe_start: ") + err);
      }
      std::this_thread::sleep_until(start + std::chrono::seconds(2));
      long a0 = 0, a1 = 0;
      for (auto* p : probes) a0 += attempts_of(p);
      getrusage(RUSAGE_SELF, &r0);
      CALLGRIND_ZERO_STATS;
      std::this_thread::sleep_for(std::chrono::seconds(seconds));
      CALLGRIND_DUMP_STATS_AT("measured");
      getrusage(RUSAGE_SELF, &r1);
      for (auto* p : probes) a1 += attempts_of(p);
      ops = a1 - a0;
      for (auto* p : probes) lifehook_probe_stop(p);
    } else {
      std::string req = http ? R"({"handler":{"httpGet":{"host":"127.0.0.1","port":)" + std::to_string(port) +
                                   R"(,"path":"/healthz"}},"timeoutMs":5000})"
                             : R"({"handler":{"tcpSocket":{"host":"127.0.0.1","port":)" + std::to_string(port) +
                                   R"(}},"timeoutMs":5000})";
      auto once = [&] {
        if (mode == "run-tcp" || mode == "run-http")
          run_one(ctx, req);
        else if (mode == "floor-tcp")
          lifehook::bench::floor_tcp_once(port);
        else if (mode == "floor-http")
          lifehook::bench::floor_http_once(url);
        else
          throw std::runtime_error("unknown mode " + mode);
      };
      for (int i = 0; i < 20; ++i) once();  // warm-up
      getrusage(RUSAGE_SELF, &r0);
      CALLGRIND_ZERO_STATS;
      for (long i = 0; i < n; ++i) once();
      CALLGRIND_DUMP_STATS_AT("measured");
      getrusage(RUSAGE_SELF, &r1);
      ops = n;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lifehook_cost: %s\n", e.what());
    kill(server, SIGKILL);
    return 1;
  }
  if (ctx) lifehook_ctx_free(ctx);
  kill(server, SIGKILL);
  waitpid(server, nullptr, 0);
  double per = ops > 0 ? 1.0 / static_cast<double>(ops) : 0;
  std::printf("%s: %ld operations; per operation: %.2f voluntary + %.2f involuntary context switches\n", mode.c_str(),
              ops, static_cast<double>(r1.ru_nvcsw - r0.ru_nvcsw) * per,
              static_cast<double>(r1.ru_nivcsw - r0.ru_nivcsw) * per);
  return 0;
}
