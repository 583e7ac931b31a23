#include "cgroup_guard.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

#include "cgroup_file.hpp"

namespace lifehook {

namespace {

// Everything the guard uses, prepared before the clone.
struct GuardPlan {
  int base_fd = -1;     // the directory holding our cgroups
  int host_pidfd = -1;  // readable once the host has exited
  char prefix[48] = {};
  size_t prefix_len = 0;
};

constexpr size_t kStackBytes = 64 * 1024;

void close_all_but(int a, int b) {
  int lo = a < b ? a : b, hi = a < b ? b : a;
  auto close_range_raw = [](unsigned first, unsigned last) {
    if (first > last) return;
    if (::syscall(SYS_close_range, first, last, 0) != 0)
      for (unsigned fd = first; fd <= last && fd < 65536; ++fd) ::close(static_cast<int>(fd));
  };
  if (lo > 0) close_range_raw(0, static_cast<unsigned>(lo - 1));
  close_range_raw(static_cast<unsigned>(lo + 1), static_cast<unsigned>(hi - 1));
  close_range_raw(static_cast<unsigned>(hi + 1), ~0U);
}

// Older kernels (no cgroup.kill, before 5.14): freeze, SIGKILL every member listed, thaw.
void kill_members(int dir) {
  write_cgroup_file(dir, "cgroup.freeze", "1");
  for (int round = 0; round < 20; ++round) {
    int fd = ::openat(dir, "cgroup.procs", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n <= 0) break;
    long pid = 0;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = pid * 10 + (buf[i] - '0');
      } else if (pid > 0) {
        ::kill(static_cast<pid_t>(pid), SIGKILL);
        pid = 0;
      }
    }
  }
  write_cgroup_file(dir, "cgroup.freeze", "0");
}

struct LinuxDirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// Kills and removes every cgroup of the host's; returns how many were found.
int kill_cgroups(const GuardPlan& p) {
  int found = 0;
  char buf[8192];
  ::lseek(p.base_fd, 0, SEEK_SET);
  for (;;) {
    long n = ::syscall(SYS_getdents64, p.base_fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* e = reinterpret_cast<LinuxDirent64*>(buf + off);
      off += e->d_reclen;
      if (std::strncmp(e->d_name, p.prefix, p.prefix_len) != 0) continue;
      ++found;
      int dir = ::openat(p.base_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dir < 0) continue;
      if (write_cgroup_file(dir, "cgroup.kill", "1") != 0) kill_members(dir);
      ::close(dir);
      // The members leave a moment after SIGKILL; then the directory can go.
      for (int i = 0; i < 200; ++i) {
        if (::unlinkat(p.base_fd, e->d_name, AT_REMOVEDIR) == 0 || errno == ENOENT) break;
        struct timespec ts {
          0, 10 * 1000 * 1000
        };
        ::nanosleep(&ts, nullptr);
      }
    }
  }
  return found;
}

// The guard's whole life. A clone of a possibly multithreaded host: raw system calls only.
int guard_main(void* arg) {
  const GuardPlan& p = *static_cast<const GuardPlan*>(arg);
  ::setsid();  // out of the host's session: a Ctrl-C or SIGHUP to the host's group is not for us
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  for (int s = 1; s < NSIG; ++s)
    if (s != SIGKILL && s != SIGSTOP) ::sigaction(s, &ign, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::prctl(PR_SET_NAME, "lifehook-guard", 0, 0, 0);
  close_all_but(p.base_fd, p.host_pidfd);  // no host pipe, socket or terminal is held open by us
  struct pollfd pfd {
    p.host_pidfd, POLLIN, 0
  };
  while (::poll(&pfd, 1, -1) < 0 && errno == EINTR) {
  }
  kill_cgroups(p);
  ::_exit(0);
}

std::mutex g_mutex;
int g_guard_pid = -1;
int g_guard_pidfd = -1;

}  // namespace

void start_cgroup_guard(const std::string& base) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_guard_pid > 0) return;
  auto plan = std::make_unique<GuardPlan>();
  plan->base_fd = ::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  plan->host_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));  // O_CLOEXEC by default
  std::snprintf(plan->prefix, sizeof plan->prefix, "lifehook-%d-", static_cast<int>(::getpid()));
  plan->prefix_len = std::strlen(plan->prefix);
  auto stack = std::make_unique<char[]>(kStackBytes);
  int pidfd = -1;
  int pid = -1;
  if (plan->base_fd >= 0 && plan->host_pidfd >= 0) {
    // No CLONE_VM: the guard has its own copy of our memory (the plan and the stack included),
    // so it lives on after we are gone. Exit signal 0: never a SIGCHLD, invisible to waitpid(-1).
    pid = ::clone(guard_main, stack.get() + kStackBytes, CLONE_PIDFD, plan.get(), &pidfd);
  }
  if (plan->base_fd >= 0) ::close(plan->base_fd);
  if (plan->host_pidfd >= 0) ::close(plan->host_pidfd);
  if (pid <= 0) return;  // no guard: trees are still killed by every orderly path
  g_guard_pid = pid;
  g_guard_pidfd = pidfd;
}

void stop_cgroup_guard() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_guard_pid <= 0) return;
  if (::syscall(SYS_pidfd_send_signal, g_guard_pidfd, SIGKILL, nullptr, 0) != 0) ::kill(g_guard_pid, SIGKILL);
  siginfo_t info{};
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(g_guard_pidfd), &info, WEXITED | __WALL) < 0 &&
         errno == EINTR) {
  }
  ::close(g_guard_pidfd);
  g_guard_pid = -1;
  g_guard_pidfd = -1;
}

int cgroup_guard_pid() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_guard_pid;
}

}  // namespace lifehook
