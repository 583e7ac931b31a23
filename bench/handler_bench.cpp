// Handler latency and throughput through the public C ABI, each against a floor that does the
// same work with no engine around it, in one run on the same servers:
//   tcpSocket  vs  socket() + connect() + SO_LINGER 1 s + close()
//   httpGet    vs  curl_easy_perform() on a fresh easy handle (a fresh connection, as the handler)
//   exec       vs  posix_spawn() + waitpid() of /bin/true
// Every server is started here on 127.0.0.1. Latency: the handler and its floor alternate, one
// call each per round, so a change of the machine's load during the run hits both alike. CPU per
// operation: getrusage (the process and its reaped children: user + system) over a block of
// calls of one kind; it includes the benchmark's own server threads, the same for both.
// Output: a Markdown table (docs/PERFORMANCE.md) and the load average before and after.
//
// Usage: lifehook_bench [scale]   (scale multiplies the iteration counts; default 1)
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "lifehook/lifehook.h"

extern char** environ;

namespace {

using lifehook::bench::listen_loopback;

using Clock = std::chrono::steady_clock;

// Accepting servers on 127.0.0.1: `http` answers each request with a small 200, otherwise the
// connection is just accepted and closed.
class Server {
 public:
  Server(bool http, int threads) : http_(http) {
    fd_ = listen_loopback(&port_);
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { serve(); });
  }
  ~Server() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (c < 0) continue;
      if (http_) answer(c);
      ::close(c);
    }
  }
  static void answer(int c) {
    char buf[4096];
    std::string got;
    while (got.find("\r\n\r\n") == std::string::npos && got.size() < 65536) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 2000) != 1) return;
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      got.append(buf, static_cast<size_t>(n));
    }
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    if (::write(c, reply, sizeof reply - 1) < 0) return;
  }
  bool http_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

struct Stats {
  double median_us = 0, p99_us = 0, ops_per_s = 0, cpu_us = 0;
};

Stats summarize(std::vector<double> us, double total_s) {
  std::sort(us.begin(), us.end());
  Stats s;
  s.median_us = us[us.size() / 2];
  s.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  s.ops_per_s = static_cast<double>(us.size()) / total_s;
  return s;
}

// n rounds of (a, b), each call timed; ops/s from the sum of each one's own times.
std::pair<Stats, Stats> time_interleaved(int n, const std::function<void()>& a, const std::function<void()>& b) {
  for (int i = 0; i < std::max(5, n / 20); ++i) {  // warm-up
    a();
    b();
  }
  std::vector<double> ua, ub;
  ua.reserve(static_cast<size_t>(n));
  ub.reserve(static_cast<size_t>(n));
  double ta = 0, tb = 0;
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    a();
    auto t1 = Clock::now();
    b();
    auto t2 = Clock::now();
    ua.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    ub.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    ta += ua.back() / 1e6;
    tb += ub.back() / 1e6;
  }
  return {summarize(ua, ta), summarize(ub, tb)};
}

double cpu_seconds() {
  double s = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage u{};
    getrusage(who, &u);
    s += static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  }
  return s;
}

// User + system CPU per call of `once`, over n calls.
double cpu_us_per_op(int n, const std::function<void()>& once) {
  double before = cpu_seconds();
  for (int i = 0; i < n; ++i) once();
  return (cpu_seconds() - before) * 1e6 / n;
}

using lifehook::bench::load_average;

// Handler throughput with `window` operations in flight at once (lifehook_submit).
double handler_concurrent_ops_per_s(lifehook_ctx* ctx, const std::string& request, int n, int window) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    int in_flight = 0;
    int done = 0;
    int failures = 0;
  } st;
  auto cb = [](void* user, uint64_t, const char* result) {
    auto* s = static_cast<State*>(user);
    bool ok = std::strstr(result, "\"outcome\":\"success\"") != nullptr;
    std::lock_guard<std::mutex> lock(s->mu);
    --s->in_flight;
    ++s->done;
    if (!ok) ++s->failures;
    s->cv.notify_all();
  };
  auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    {
      std::unique_lock<std::mutex> lock(st.mu);
      st.cv.wait(lock, [&] { return st.in_flight < window; });
      ++st.in_flight;
    }
    if (lifehook_submit(ctx, request.c_str(), cb, &st, nullptr, nullptr) != LIFEHOOK_OK)
      throw std::runtime_error("submit failed: " + request);
  }
  std::unique_lock<std::mutex> lock(st.mu);
  st.cv.wait(lock, [&] { return st.done == n; });
  if (st.failures) std::fprintf(stderr, "warning: %d of %d concurrent operations did not succeed\n", st.failures, n);
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

void run_handler(lifehook_ctx* ctx, const std::string& request) {
  char* result = nullptr;
  char* error = nullptr;
  int rc = lifehook_run(ctx, request.c_str(), &result, &error);
  bool ok = rc == LIFEHOOK_OK && std::strstr(result, "\"outcome\":\"success\"");
  std::string text = result ? result : (error ? error : "");
  lifehook_free(result);
  lifehook_free(error);
  if (!ok) throw std::runtime_error("handler did not succeed: " + request + " -> " + text);
}

void floor_connect(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect");
  linger l{1, 1};
  ::setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(s);
}

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

void floor_curl(const std::string& url) {
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  if (rc != CURLE_OK || status != 200) throw std::runtime_error("curl floor failed");
}

void floor_spawn() {
  const char* argv[] = {"/bin/true", nullptr};
  pid_t pid;
  if (posix_spawn(&pid, "/bin/true", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    throw std::runtime_error("posix_spawn");
  int status;
  ::waitpid(pid, &status, 0);
}

void row(const char* what, const Stats& h, const Stats& f, double concurrent) {
  std::printf(
      "| %-9s | %8.1f | %8.1f | %8.1f | %8.1f | %5.2fx | %5.2fx | %7.1f | %7.1f | %5.2fx | %8.0f | %8.0f | %9.0f |\n",
      what, h.median_us, f.median_us, h.p99_us, f.p99_us, h.median_us / f.median_us, h.p99_us / f.p99_us, h.cpu_us,
      f.cpu_us, h.cpu_us / f.cpu_us, h.ops_per_s, f.ops_per_s, concurrent);
  std::fflush(stdout);
}

// One handler against its floor: latency interleaved, then CPU per operation, then 32 in flight.
void compare(const char* what, lifehook_ctx* ctx, const std::string& req, int n, const std::function<void()>& floor) {
  auto handler = [&] { run_handler(ctx, req); };
  auto [h, f] = time_interleaved(n, handler, floor);
  int cpu_n = std::max(20, n / 2);
  h.cpu_us = cpu_us_per_op(cpu_n, handler);
  f.cpu_us = cpu_us_per_op(cpu_n, floor);
  row(what, h, f, handler_concurrent_ops_per_s(ctx, req, n, 32));
}

}  // namespace

int main(int argc, char** argv) {
  double scale = argc > 1 ? std::atof(argv[1]) : 1.0;
  auto count = [&](int n) { return std::max(20, static_cast<int>(n * scale)); };
  curl_global_init(CURL_GLOBAL_DEFAULT);
  lifehook_ctx* ctx = nullptr;
  char* error = nullptr;
  if (lifehook_ctx_new(nullptr, &ctx, &error) != LIFEHOOK_OK) {
    std::fprintf(stderr, "lifehook_ctx_new: %s\n", error);
    return 1;
  }
  std::printf(
      "lifehook %s, default context (2 event-loop threads); latency in microseconds, one at a time "
      "(lifehook_run), interleaved with the floor; CPU in microseconds (user + system) per operation; "
      "throughput in operations/s, sequential and with 32 in flight (lifehook_submit); load average %.2f\n\n",
      lifehook_version(), load_average());
  std::printf(
      "| handler   | median   | floor    | p99      | floor    | median | p99    | CPU     | floor   | CPU    "
      "| ops/s    | floor    | ops/s x32 |\n");
  std::printf(
      "|-----------|---------:|---------:|---------:|---------:|-------:|-------:|--------:|--------:|-------:"
      "|---------:|---------:|----------:|\n");
  int rc = 0;
  try {
    {
      Server tcp(false, 1);
      std::string req = R"({"handler":{"tcpSocket":{"host":"127.0.0.1","port":)" + std::to_string(tcp.port()) +
                        R"(}},"timeoutMs":5000})";
      compare("tcpSocket", ctx, req, count(3000), [&] { floor_connect(tcp.port()); });
    }
    {
      Server http(true, 2);
      std::string url = "http://127.0.0.1:" + std::to_string(http.port()) + "/healthz";
      std::string req = R"({"handler":{"httpGet":{"host":"127.0.0.1","port":)" + std::to_string(http.port()) +
                        R"(,"path":"/healthz"}},"timeoutMs":5000})";
      compare("httpGet", ctx, req, count(2000), [&] { floor_curl(url); });
    }
    {
      std::string req = R"({"handler":{"exec":{"command":["/bin/true"]}},"timeoutMs":5000})";
      compare("exec", ctx, req, count(500), floor_spawn);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lifehook_bench: %s\n", e.what());
    rc = 1;
  }
  std::printf("\nload average at the end: %.2f\n", load_average());
  lifehook_ctx_free(ctx);
  curl_global_cleanup();
  return rc;
}
