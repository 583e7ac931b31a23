// `true` inside a running runc container, three ways, in one run (issue 5's benchmark):
//   container  spawn_in_container(): the library's own exec into the container (full runc-exec
//              parity: config.json, cgroups, namespaces, credentials, seccomp)
//   runc       `runc exec <id> true`
//   floor      bare setns + fork + exec: namespace fds opened once, no cgroup, no credentials,
//              created the same way (vfork-style clone, CLONE_PARENT for the pid namespace);
//              a naive fork()-based version is printed for reference
// Prints median and p99 of each and the ratios. Needs root, runc and busybox-static.
// Usage: container_exec_bench [iterations] [container|all] [gap-ms]
//   runc exec gets a tenth of the iterations, at least 20; "container": only the library's path,
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
#include <functional>
#include <string>
#include <vector>

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

Stats measure(int n, const std::function<void()>& once) {
  once();  // warm-up (caches, page faults)
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    if (g_gap_ms > 0) ::usleep(static_cast<useconds_t>(g_gap_ms) * 1000);
    auto t0 = Clock::now();
    once();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[std::min(us.size() - 1, static_cast<size_t>(us.size() * 0.99))]};
}

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
  int n_runc = std::max(20, n / 10);
  g_gap_ms = argc > 3 ? std::atoi(argv[3]) : 0;
  RuncContainer c;
  check(c.ok(), c.error().c_str());

  lifehook::ContainerExecSpec spec;
  spec.target_pid = c.pid();
  spec.bundle = c.bundle();
  spec.argv = {"true"};
  Stats ours = measure(n, [&] {
    lifehook::ContainerSpawned s = lifehook::spawn_in_container(spec);
    check(wait_for(s.spawned.pid) == 0, "container exec of true");
  });

  if (argc > 2 && std::string(argv[2]) == "container") {
    std::printf("container mode (library)  median %9.1f us   p99 %9.1f us\n", ours.median_us, ours.p99_us);
    return 0;
  }

  std::string root = lifehook::testing::test_runtime_root();
  std::vector<std::string> runc_args = {"runc", "--root", root, "exec", c.id(), "true"};
  std::vector<char*> runc_argv;
  for (auto& a : runc_args) runc_argv.push_back(a.data());
  runc_argv.push_back(nullptr);
  Stats runc = measure(n_runc, [&] {
    pid_t pid;
    check(::posix_spawnp(&pid, "runc", nullptr, nullptr, runc_argv.data(), environ) == 0, "posix_spawn runc");
    check(wait_for(pid) == 0, "runc exec true");
  });

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
  Stats floor = measure(n, [&] {
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
  });
  Stats naive = measure(n, [&] {
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
  });

  std::printf("true inside a running runc container (%d runs; runc exec %d runs; %d ms pause before each)\n", n, n_runc,
              g_gap_ms);
  std::printf("  %-28s median %9.1f us   p99 %9.1f us\n", "container mode (library)", ours.median_us, ours.p99_us);
  std::printf("  %-28s median %9.1f us   p99 %9.1f us\n", "runc exec", runc.median_us, runc.p99_us);
  std::printf("  %-28s median %9.1f us   p99 %9.1f us\n", "floor: setns+fork+exec", floor.median_us, floor.p99_us);
  std::printf("  %-28s median %9.1f us   p99 %9.1f us\n", "(naive fork()-based floor)", naive.median_us, naive.p99_us);
  std::printf("  runc exec / container mode:  %.1fx (median)  %.1fx (p99)\n", runc.median_us / ours.median_us,
              runc.p99_us / ours.p99_us);
  std::printf("  container mode / floor:      %.2fx (median)  %.2fx (p99)\n", ours.median_us / floor.median_us,
              ours.p99_us / floor.p99_us);
  for (int fd : ns_fds) ::close(fd);
  return 0;
}
