// `true` inside a running runc container, four ways, in one run (issue 5's benchmark):
//   lifehook_run  what a host gets: the public C ABI, an exec handler with target.pid and
//              target.bundle (JSON in, JSON out, the event loop, the pidfd watch, the tree kill)
//   container  spawn_in_container(): the library's own exec into the container (full runc-exec
//              parity: config.json, cgroups, namespaces, credentials, seccomp), waited for here
//   runc       `runc exec <id> true`
//   floor      bare setns + fork + exec: namespace fds opened once, no cgroup, no credentials,
//              created the same way (vfork-style clone, CLONE_PARENT for the pid namespace);
//              a naive fork()-based version is printed for reference
// The ways are interleaved (one of each per round, runc exec every tenth round), so a change of
// the machine's load during the run affects all of them alike. Prints median and p99 of each,
// the ratios and the load average. Needs root, runc and busybox-static.
// Usage: container_exec_bench [iterations] [container|abi|all] [gap-ms]
//   runc exec gets a tenth of the iterations, at least 20; "container" / "abi": only that path,
//   for profiling it with perf or strace; gap-ms: a pause before each run, outside the measured
//   time (what a probe every few seconds sees: kernel state that a tight loop keeps warm, such as
//   an RCU grace period of a cgroup migration, has gone cold by then)
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "lifehook/lifehook.h"
#include "plugin/os/container_exec.hpp"
#include "tests/oci/oci_fixture.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using lifehook::testing::RuncContainer;

struct Stats {
  double median_us = 0, p99_us = 0;
};

int g_gap_ms = 0;

// One way of running `true` in the container, timed run by run.
struct Way {
  explicit Way(std::function<void()> f, int every_nth = 1) : once(std::move(f)), every(every_nth) {}
  std::function<void()> once;
  int every;  // runs in every `every`-th round only
  std::vector<double> us;
};

Stats stats(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[std::min(us.size() - 1, static_cast<size_t>(us.size() * 0.99))]};
}

// n rounds; in each, every way (whose turn it is) runs once, after the optional pause.
void measure(int n, std::vector<Way*> ways) {
  for (Way* w : ways) w->once();  // warm-up (caches, page faults, the plan)
  for (int i = 0; i < n; ++i)
    for (Way* w : ways) {
      if (i % w->every) continue;
      if (g_gap_ms > 0) ::usleep(static_cast<useconds_t>(g_gap_ms) * 1000);
      auto t0 = Clock::now();
      w->once();
      w->us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
}

using lifehook::bench::load_average;

int wait_for(int pid) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | __WALL) < 0 && errno == EINTR) {
  }
  return info.si_status;
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "container_exec_bench: %s failed\n", what);
    std::exit(1);
  }
}

// The floor, with the same process-creation primitives as the library (vfork-style clones, the
// inner one a sibling via CLONE_PARENT) but nothing else: no config, no cgroup, no credentials.
struct FloorArgs {
  const int* ns;
  int ns_count;
  char* path;
  char** argv;
  char** envp;
  void* inner_stack;
  volatile int inner;
};

int floor_inner(void* raw) {
  auto* a = static_cast<FloorArgs*>(raw);
  ::syscall(SYS_execve, a->path, a->argv, a->envp);
  ::syscall(SYS_exit_group, 127);
  return 127;
}

int floor_outer(void* raw) {
  auto* a = static_cast<FloorArgs*>(raw);
  for (int i = 0; i < a->ns_count; ++i)
    if (::syscall(SYS_setns, a->ns[i], 0) != 0) ::syscall(SYS_exit_group, 120);
  a->inner = ::clone(floor_inner, a->inner_stack, CLONE_VM | CLONE_VFORK | CLONE_PARENT, a);
  ::syscall(SYS_exit_group, 0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (std::string why = lifehook::testing::oci_skip_reason(); !why.empty()) {
    std::printf("container_exec_bench: skipped: %s\n", why.c_str());
    return 0;
  }
  int n = argc > 1 ? std::atoi(argv[1]) : 300;
  std::string only = argc > 2 ? argv[2] : "all";
  g_gap_ms = argc > 3 ? std::atoi(argv[3]) : 0;
  RuncContainer c;
  check(c.ok(), c.error().c_str());

  lifehook::ContainerExecSpec spec;
  spec.target_pid = c.pid();
  spec.bundle = c.bundle();
  spec.argv = {"true"};
  Way ours{[&] {
    lifehook::ContainerSpawned s = lifehook::spawn_in_container(spec);
    check(wait_for(s.spawned.pid) == 0, "container exec of true");
  }};

  // The public ABI, as a host calls it: a context with the defaults, one lifehook_run per exec.
  lifehook_ctx* ctx = nullptr;
  char* error = nullptr;
  check(lifehook_ctx_new(nullptr, &ctx, &error) == LIFEHOOK_OK, "lifehook_ctx_new");
  std::string request = R"({"handler":{"exec":{"command":["true"]}},"target":{"pid":)" + std::to_string(c.pid()) +
                        R"(,"bundle":")" + c.bundle() + R"("},"timeoutMs":10000})";
  Way abi{[&] {
    char* result = nullptr;
    char* err = nullptr;
    int rc = lifehook_run(ctx, request.c_str(), &result, &err);
    bool ok = rc == LIFEHOOK_OK && std::strstr(result, "\"outcome\":\"success\"");
    if (!ok) std::fprintf(stderr, "lifehook_run: %s\n", result ? result : (err ? err : "?"));
    lifehook_free(result);
    lifehook_free(err);
    check(ok, "lifehook_run of true in the container");
  }};

  if (only == "container" || only == "abi") {
    Way& w = only == "container" ? ours : abi;
    measure(n, {&w});
    Stats s = stats(w.us);
    std::printf("%s  median %9.1f us   p99 %9.1f us\n",
                only == "container" ? "container mode (library)" : "lifehook_run", s.median_us, s.p99_us);
    lifehook_ctx_free(ctx);
    return 0;
  }

  std::string root = lifehook::testing::test_runtime_root();
  std::vector<std::string> runc_args = {"runc", "--root", root, "exec", c.id(), "true"};
  std::vector<char*> runc_argv;
  for (auto& a : runc_args) runc_argv.push_back(a.data());
  runc_argv.push_back(nullptr);
  Way runc{[&] {
             pid_t pid;
             check(::posix_spawnp(&pid, "runc", nullptr, nullptr, runc_argv.data(), environ) == 0, "posix_spawn runc");
             check(wait_for(pid) == 0, "runc exec true");
           },
           10};

  // The floor: what any exec into a container has to pay at least.
  std::vector<int> ns_fds;
  for (const char* ns : {"ipc", "uts", "net", "pid", "mnt"}) {
    std::string path = "/proc/" + std::to_string(c.pid()) + "/ns/" + ns;
    ns_fds.push_back(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  }
  char true_path[] = "/bin/true";
  char* true_argv[] = {true_path, nullptr};
  char* no_env[] = {nullptr};
  void* floor_stacks =
      ::mmap(nullptr, 128 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  Way floor{[&] {
    FloorArgs fa{ns_fds.data(),
                 static_cast<int>(ns_fds.size()),
                 true_path,
                 true_argv,
                 no_env,
                 static_cast<char*>(floor_stacks) + 64 * 1024,
                 -1};
    int outer = ::clone(floor_outer, static_cast<char*>(floor_stacks) + 128 * 1024, CLONE_VM | CLONE_VFORK, &fa);
    check(outer > 0, "clone");
    wait_for(outer);
    check(fa.inner > 0 && wait_for(fa.inner) == 0, "setns+fork+exec of true");
  }};
  Way naive{[&] {
    pid_t pid = ::fork();
    if (pid == 0) {
      for (int fd : ns_fds)
        if (::setns(fd, 0) != 0) ::_exit(120);
      pid_t inner = ::fork();
      if (inner == 0) {
        ::execve(true_path, true_argv, no_env);
        ::_exit(127);
      }
      int st = 0;
      ::waitpid(inner, &st, 0);
      ::_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128);
    }
    check(wait_for(pid) == 0, "fork+setns+fork+exec of true");
  }};

  double load_before = load_average();
  measure(n, {&abi, &ours, &floor, &naive, &runc});
  double load_after = load_average();
  Stats sa = stats(abi.us), so = stats(ours.us), sr = stats(runc.us), sf = stats(floor.us), sn = stats(naive.us);

  std::printf(
      "true inside a running runc container (%d rounds interleaved; runc exec every 10th; %d ms pause before "
      "each; load average %.2f before, %.2f after)\n",
      n, g_gap_ms, load_before, load_after);
  std::printf("  %-28s median %9.1f us   p99 %9.1f us\n", "lifehook_run (public ABI)", sa.median_us, sa.p99_us);
  std::printf("  %-28s median %9.1f us   p99 %9.1f us\n", "container mode (library)", so.median_us, so.p99_us);
  std::printf("  %-28s median %9.1f us   p99 %9.1f us\n", "runc exec", sr.median_us, sr.p99_us);
  std::printf("  %-28s median %9.1f us   p99 %9.1f us\n", "floor: setns+fork+exec", sf.median_us, sf.p99_us);
  std::printf("  %-28s median %9.1f us   p99 %9.1f us\n", "(naive fork()-based floor)", sn.median_us, sn.p99_us);
  std::printf("  runc exec / lifehook_run:    %.1fx (median)  %.1fx (p99)\n", sr.median_us / sa.median_us,
              sr.p99_us / sa.p99_us);
  std::printf("  lifehook_run / floor:        %.2fx (median)  %.2fx (p99)\n", sa.median_us / sf.median_us,
              sa.p99_us / sf.p99_us);
  std::printf("  runc exec / container mode:  %.1fx (median)  %.1fx (p99)\n", sr.median_us / so.median_us,
              sr.p99_us / so.p99_us);
  std::printf("  container mode / floor:      %.2fx (median)  %.2fx (p99)\n", so.median_us / sf.median_us,
              so.p99_us / sf.p99_us);
  for (int fd : ns_fds) ::close(fd);
  lifehook_ctx_free(ctx);
  return 0;
}
