// Probing at node scale through the standalone probe ABI (lifehook_probe_start): N targets
// probed at 1 Hz on one context for a fixed time, per probe kind (tcpSocket, httpGet, exec),
// and in the same run the floors (the same work with no engine: a non-blocking connect + close;
// a fresh libcurl easy transfer; vfork + exec + waitpid) and a kubelet-style Go prober peer
// (bench/probe_peer). Reports CPU µs per probe, library threads, RSS and the start jitter p99.
//
// The targets are served by a separate process (its CPU is not counted): tcp targets are
// distinct listening ports, http targets distinct paths; the server timestamps every arrival, so
// the start jitter is how late each probe of a target arrives against that target's 1 s grid
// (server-side, so it includes the server's own scheduling delay: an upper bound).
//
// Two floors: the bare one (the work in a tight loop, as the targets of issue 12 are stated) and
// the paced one (the same work, each target once a second, one thread sleeping in between): what
// any prober at this rate pays for waking up. Context switches per probe are counted beside CPU.
//
// Usage: lifehook_probe_scale [N=1000] [SECONDS=10] [EXEC_N=200] [PEER=path/to/probe_peer]
// LIFEHOOK_BENCH_OPTIONS, when set, is the context's options JSON (e.g. {"threads": 1}).
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "lifehook/lifehook.h"

namespace {

using Clock = std::chrono::steady_clock;

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

// Context switches (voluntary + involuntary) of this process so far: each is a thread going to
// sleep or being preempted, the cost that separates a paced prober from a tight loop.
long switches() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_nvcsw + u.ru_nivcsw;
}

double cpu_s(int who) {
  rusage u{};
  getrusage(who, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

long rss_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

int thread_count() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

void raise_fd_limit() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
}

// The target server, in a child process: `ports` listening sockets (tcp: accept and close) or
// one (http: read the request line "GET /t/<i>", answer 200 "ok", close). Every arrival is
// timestamped per target; stop() returns them.
class TargetServer {
 public:
  TargetServer(bool http, int targets) : http_(http), targets_(targets) {
    int nports = http ? 1 : targets;
    std::vector<int> fds;
    for (int i = 0; i < nports; ++i) {
      int port;
      fds.push_back(lifehook::bench::listen_loopback(&port, SOCK_NONBLOCK));
      ports_.push_back(port);
    }
    int ctl[2], out[2];
    if (pipe2(ctl, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      ::close(ctl[1]);
      ::close(out[0]);
      serve(fds, ctl[0], out[1]);
      _exit(0);
    }
    for (int fd : fds) ::close(fd);
    ::close(ctl[0]);
    ::close(out[1]);
    ctl_ = ctl[1];
    out_ = out[0];
  }
  const std::vector<int>& ports() const { return ports_; }

  // Arrival times (seconds, CLOCK_MONOTONIC) per target.
  std::vector<std::vector<double>> stop() {
    char c = 'q';
    if (::write(ctl_, &c, 1) != 1) throw std::runtime_error("write");
    std::string data;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(out_, buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
    waitpid(pid_, nullptr, 0);
    ::close(ctl_);
    ::close(out_);
    std::vector<std::vector<double>> arrivals(static_cast<size_t>(targets_));
    const char* p = data.data();
    size_t count = data.size() / (sizeof(int) + sizeof(double));
    for (size_t i = 0; i < count; ++i) {
      int t;
      double at;
      std::memcpy(&t, p, sizeof t);
      std::memcpy(&at, p + sizeof t, sizeof at);
      p += sizeof t + sizeof at;
      if (t >= 0 && t < targets_) arrivals[static_cast<size_t>(t)].push_back(at);
    }
    return arrivals;
  }

 private:
  void serve(const std::vector<int>& fds, int ctl, int out) {
    raise_fd_limit();
    int ep = epoll_create1(EPOLL_CLOEXEC);
    auto add = [&](int fd, uint64_t tag) {
      epoll_event e{};
      e.events = EPOLLIN;
      e.data.u64 = tag;
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    };
    for (size_t i = 0; i < fds.size(); ++i) add(fds[i], i);
    add(ctl, 1ull << 40);
    std::string log;
    log.reserve(1 << 24);
    auto record = [&](int target) {
      double at = now_s();
      log.append(reinterpret_cast<const char*>(&target), sizeof target);
      log.append(reinterpret_cast<const char*>(&at), sizeof at);
    };
    constexpr uint64_t kConn = 1ull << 41;
    epoll_event evs[256];
    for (;;) {
      int n = epoll_wait(ep, evs, 256, 1000);
      for (int i = 0; i < n; ++i) {
        uint64_t tag = evs[i].data.u64;
        if (tag == (1ull << 40)) {
          size_t off = 0;
          while (off < log.size()) {
            ssize_t w = ::write(out, log.data() + off, log.size() - off);
            if (w <= 0) break;
            off += static_cast<size_t>(w);
          }
          return;
        }
        if (tag & kConn) {  // http: a request arrived on an accepted connection
          int c = static_cast<int>(tag & 0xffffffff);
          char buf[2048];
          ssize_t r = ::read(c, buf, sizeof buf - 1);
          if (r > 0) {
            buf[r] = 0;
            int t = -1;
            if (const char* s = std::strstr(buf, "/t/")) t = std::atoi(s + 3);
            record(t);
            static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
            if (::write(c, resp, sizeof resp - 1) < 0) {
            }
          }
          ::close(c);
          continue;
        }
        int lfd = fds[tag];
        for (;;) {
          int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (c < 0) break;
          if (!http_) {
            record(static_cast<int>(tag));
            ::close(c);
          } else {
            add(c, kConn | static_cast<uint64_t>(c));
          }
        }
      }
    }
  }

  bool http_;
  int targets_;
  std::vector<int> ports_;
  pid_t pid_ = -1;
  int ctl_ = -1, out_ = -1;
};

// How late each arrival is against its target's grid (first arrival + k periods), relative to
// the target's earliest; the p99 over all targets, in ms.
double jitter_p99_ms(const std::vector<std::vector<double>>& arrivals, double period, double from, double to) {
  std::vector<double> late;
  for (const auto& a : arrivals) {
    std::vector<double> l;
    double t0 = -1;
    for (double t : a) {
      if (t < from || t > to) continue;
      if (t0 < 0) t0 = t;
      double k = std::round((t - t0) / period);
      l.push_back(t - t0 - k * period);
    }
    if (l.empty()) continue;
    double m = *std::min_element(l.begin(), l.end());
    for (double x : l) late.push_back((x - m) * 1e3);
  }
  if (late.empty()) return NAN;
  std::sort(late.begin(), late.end());
  return late[static_cast<size_t>(0.99 * static_cast<double>(late.size() - 1))];
}

struct Row {
  std::string kind;
  int n = 0;
  double lib_us = 0, floor_us = 0, paced_us = 0, go_us = 0, switches = 0;
  long attempts = 0, go_attempts = 0;
  long failures = 0;
  int lib_threads = 0;
  long rss_kb = 0, rss_delta_kb = 0;
  double jitter_ms = NAN, go_jitter_ms = NAN;
};

long count_attempts(lifehook_probe* p, long* failed) {
  char* s = nullptr;
  long n = 0;
  if (lifehook_probe_state(p, &s) == LIFEHOOK_OK && s) {
    if (const char* a = std::strstr(s, "\"attempts\":")) n = std::atol(a + 11);
    if (failed && std::strstr(s, "\"result\":\"failure\"")) ++*failed;
  }
  lifehook_free(s);
  return n;
}

// The library: N probes started spread over one period, measured over the seconds after the
// first period (every probe running).
void run_library(Row& row, const std::vector<std::string>& probes, const std::vector<std::string>& targets, int seconds,
                 bool exec) {
  long rss0 = rss_kb();
  int threads0 = thread_count();
  lifehook_ctx* ctx = nullptr;
  char* err = nullptr;
  if (lifehook_ctx_new(std::getenv("LIFEHOOK_BENCH_OPTIONS"), &ctx, &err) != LIFEHOOK_OK)
    throw std::runtime_error(err ? err : "ctx_new");
  std::vector<lifehook_probe*> handles(probes.size());
  double start = now_s();
  for (size_t i = 0; i < probes.size(); ++i) {
    double at = start + static_cast<double>(i) / static_cast<double>(probes.size());
    while (now_s() < at) std::this_thread::sleep_for(std::chrono::microseconds(200));
    if (lifehook_probe_start(ctx, probes[i].c_str(), targets[i].c_str(), nullptr, nullptr, &handles[i], &err) !=
        LIFEHOOK_OK)
      throw std::runtime_error(std::string("probe_start: ") + (err ? err : "?"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  long a0 = 0;
  for (auto* h : handles) a0 += count_attempts(h, nullptr);
  double c0 = cpu_s(RUSAGE_SELF) + (exec ? cpu_s(RUSAGE_CHILDREN) : 0);
  long s0 = switches();
  int max_threads = 0;
  for (int s = 0; s < seconds * 10; ++s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    max_threads = std::max(max_threads, thread_count() - threads0);
  }
  double c1 = cpu_s(RUSAGE_SELF) + (exec ? cpu_s(RUSAGE_CHILDREN) : 0);
  long s1 = switches();
  long a1 = 0, failed = 0;
  for (auto* h : handles) a1 += count_attempts(h, &failed);
  row.attempts = a1 - a0;
  row.failures = failed;
  row.lib_us = (c1 - c0) * 1e6 / static_cast<double>(std::max(1L, row.attempts));
  row.lib_threads = max_threads;
  row.switches = static_cast<double>(s1 - s0) / static_cast<double>(std::max(1L, row.attempts));
  row.rss_kb = rss_kb();
  row.rss_delta_kb = row.rss_kb - rss0;
  for (auto* h : handles) lifehook_probe_stop(h);
  lifehook_ctx_free(ctx);
}

// The Go peer: its own process; CPU from wait4, attempts from its stdout.
void run_peer(Row& row, const std::string& peer, const char* kind, int seconds, const std::vector<std::string>& args) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  std::string secs = std::to_string(seconds + 1), period = "1000";
  std::vector<char*> argv = {const_cast<char*>(peer.c_str()), const_cast<char*>(kind), secs.data(), period.data()};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buf[256];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  rusage u{};
  wait4(pid, &status, 0, &u);
  double cpu = u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
  row.go_attempts = std::atol(text.c_str());
  row.go_us = row.go_attempts > 0 ? cpu * 1e6 / static_cast<double>(row.go_attempts) : NAN;
}

double floor_tcp(int port, int iterations) {
  double c0 = cpu_s(RUSAGE_SELF);
  for (int i = 0; i < iterations; ++i) lifehook::bench::floor_tcp_once(port);
  return (cpu_s(RUSAGE_SELF) - c0) * 1e6 / iterations;
}

// The same work paced as the probes are: the targets in turn, each once a second, one thread
// sleeping until the next is due (clock_nanosleep, absolute): what any prober at this rate pays
// for waking up, and nothing else.
template <typename Once>
double floor_paced(int n, int seconds, Once once) {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  long total = static_cast<long>(n) * seconds;
  long step_ns = 1000000000L / n;
  double c0 = cpu_s(RUSAGE_SELF);
  for (long i = 0; i < total; ++i) {
    t.tv_nsec += step_ns;
    if (t.tv_nsec >= 1000000000L) {
      t.tv_nsec -= 1000000000L;
      ++t.tv_sec;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr);
    once(static_cast<int>(i % n));
  }
  return (cpu_s(RUSAGE_SELF) - c0) * 1e6 / static_cast<double>(total);
}

double floor_http(int port, int iterations) {
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/t/0";
  double c0 = cpu_s(RUSAGE_SELF);
  for (int i = 0; i < iterations; ++i) lifehook::bench::floor_http_once(url);
  return (cpu_s(RUSAGE_SELF) - c0) * 1e6 / iterations;
}

double floor_exec(int iterations) {
  double c0 = cpu_s(RUSAGE_SELF) + cpu_s(RUSAGE_CHILDREN);
  for (int i = 0; i < iterations; ++i) {
    pid_t pid = vfork();
    if (pid == 0) {
      execl("/bin/true", "true", static_cast<char*>(nullptr));
      _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
  }
  return (cpu_s(RUSAGE_SELF) + cpu_s(RUSAGE_CHILDREN) - c0) * 1e6 / iterations;
}

std::string probe_json(const std::string& handler) {
  return R"({"livenessProbe": {)" + handler + R"(, "periodSeconds": 1, "timeoutSeconds": 1}})";
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  int exec_n = argc > 3 ? std::atoi(argv[3]) : 200;
  std::string peer = argc > 4 ? argv[4] : "";
  raise_fd_limit();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::vector<Row> rows;

  {  // tcpSocket
    Row row{"tcpSocket", n};
    std::vector<std::string> probes, targets, peer_args;
    {
      TargetServer server(false, n);
      for (int i = 0; i < n; ++i) {
        probes.push_back(probe_json(R"("tcpSocket": {"port": )" + std::to_string(server.ports()[i]) + "}"));
        targets.push_back(R"({"podIP": "127.0.0.1"})");
        peer_args.push_back("127.0.0.1:" + std::to_string(server.ports()[i]));
      }
      double from = now_s() + 1.2;
      run_library(row, probes, targets, seconds, false);
      row.jitter_ms = jitter_p99_ms(server.stop(), 1.0, from, now_s());
    }
    {
      TargetServer server(false, 1);
      row.floor_us = floor_tcp(server.ports()[0], 20000);
      server.stop();
    }
    {
      TargetServer server(false, n);
      row.paced_us = floor_paced(n, seconds, [&](int i) { lifehook::bench::floor_tcp_once(server.ports()[i]); });
      server.stop();
    }
    if (!peer.empty()) {
      TargetServer server(false, n);
      peer_args.clear();
      for (int i = 0; i < n; ++i) peer_args.push_back("127.0.0.1:" + std::to_string(server.ports()[i]));
      double from = now_s() + 1.2;
      run_peer(row, peer, "tcp", seconds, peer_args);
      row.go_jitter_ms = jitter_p99_ms(server.stop(), 1.0, from, now_s());
    }
    rows.push_back(row);
  }
  {  // httpGet
    Row row{"httpGet", n};
    std::vector<std::string> probes, targets, peer_args;
    {
      TargetServer server(true, n);
      int port = server.ports()[0];
      for (int i = 0; i < n; ++i) {
        probes.push_back(probe_json(R"("httpGet": {"path": "/t/)" + std::to_string(i) + R"(", "port": )" +
                                    std::to_string(port) + "}"));
        targets.push_back(R"({"podIP": "127.0.0.1"})");
      }
      double from = now_s() + 1.2;
      run_library(row, probes, targets, seconds, false);
      row.jitter_ms = jitter_p99_ms(server.stop(), 1.0, from, now_s());
    }
    {
      TargetServer server(true, 1);
      row.floor_us = floor_http(server.ports()[0], 5000);
      server.stop();
    }
    {
      TargetServer server(true, n);
      std::vector<std::string> urls;
      for (int i = 0; i < n; ++i)
        urls.push_back("http://127.0.0.1:" + std::to_string(server.ports()[0]) + "/t/" + std::to_string(i));
      row.paced_us = floor_paced(n, seconds, [&](int i) { lifehook::bench::floor_http_once(urls[i]); });
      server.stop();
    }
    if (!peer.empty()) {
      TargetServer server(true, n);
      for (int i = 0; i < n; ++i)
        peer_args.push_back("http://127.0.0.1:" + std::to_string(server.ports()[0]) + "/t/" + std::to_string(i));
      double from = now_s() + 1.2;
      run_peer(row, peer, "http", seconds, peer_args);
      row.go_jitter_ms = jitter_p99_ms(server.stop(), 1.0, from, now_s());
    }
    rows.push_back(row);
  }
  if (exec_n > 0) {  // exec
    Row row{"exec", exec_n};
    std::vector<std::string> probes(static_cast<size_t>(exec_n), probe_json(R"("exec": {"command": ["/bin/true"]})"));
    std::vector<std::string> targets(static_cast<size_t>(exec_n), "{}");
    run_library(row, probes, targets, seconds, true);
    row.floor_us = floor_exec(2000);
    if (!peer.empty())
      run_peer(row, peer, "exec", seconds, std::vector<std::string>(static_cast<size_t>(exec_n), "/bin/true"));
    rows.push_back(row);
  }

  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf("load average: %.2f %.2f %.2f; %d s per run, 1 Hz per target\n\n", load[0], load[1], load[2], seconds);
  std::printf(
      "| probe | targets | probes | CPU us/probe | switches/probe | floor | ratio | paced floor | ratio | Go peer | "
      "lib/Go | lib threads | RSS MB (delta) "
      "| jitter p99 ms | Go jitter p99 |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& r : rows)
    std::printf(
        "| %s | %d | %ld | %.1f | %.2f | %.1f | %.2fx | %.1f | %.2fx | %.1f | %.2fx | %d | %.1f (%.1f) | %.2f | %.2f "
        "|\n",
        r.kind.c_str(), r.n, r.attempts, r.lib_us, r.switches, r.floor_us, r.lib_us / r.floor_us, r.paced_us,
        r.paced_us > 0 ? r.lib_us / r.paced_us : NAN, r.go_us, r.lib_us / r.go_us, r.lib_threads, r.rss_kb / 1024.0,
        r.rss_delta_kb / 1024.0, r.jitter_ms, r.go_jitter_ms);
  curl_global_cleanup();
  return 0;
}
