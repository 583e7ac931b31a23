// Process creation for a library that lives inside someone else's process.
//
// Why not Boost.Process v2's default_launcher: it fork()s (copying the page tables of a possibly
// huge host, ENOMEM under overcommit) and runs C++ code in the child that may allocate and take
// locks (fd closing via readdir of /dev/fd, notify_fork of the io_context) — a deadlock when
// another host thread held the malloc lock at fork time. Instead we use clone(CLONE_VM |
// CLONE_VFORK), as glibc's posix_spawn does: the calling thread is suspended until the child has
// exec'd or exited, the child shares our memory (so it must not write anything but its own stack
// and the errno of the suspended thread), and between clone and exec it makes nothing but raw
// system calls on data prepared here beforehand: no malloc, no locks, no logging.
//
// The child's exit signal is 0 instead of SIGCHLD (a "clone child"): the host gets no SIGCHLD
// for our children and a host calling waitpid(-1) without __WALL cannot steal their exit status.
// Such a child is reaped only with __WALL (child.cpp). (A host with SIGCHLD set to SIG_IGN still
// makes the kernel auto-reap it; child.cpp then reads the exit status from the pidfd.)
#include "spawn.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "../common/errors.hpp"
#include "child_stdio.hpp"
#include "container_exec_clone.hpp"

extern char** environ;

namespace lifehook {
namespace {

// Cleared on the first clone3 that the kernel does not support; then the child joins by a write.
std::atomic<bool> g_clone_into_cgroup_works{true};

// Where in the child a failure happened; reported with errno through the error pipe.
enum class Stage : int { Signals = 1, Session, Cgroup, Stdio, Chdir, CloseFds, Exec };

struct ChildFailure {
  int stage;
  int err;
};

// The kernel's struct sigaction (x86-64, arm64 and the other SA_RESTORER architectures):
// rt_sigaction is called directly, since glibc's wrapper refuses its internal signals and
// sanitizers intercept it.
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};

// Everything the child needs, prepared by the parent before clone.
struct ChildArgs {
  const char* path;  // resolved executable
  char* const* argv;
  char* const* envp;
  const char* working_dir;  // nullptr: stay
  int stdio[3];
  int cgroup_procs_fd;  // -1: stay in our cgroup
  int error_fd;         // CLOEXEC write end: closed by a successful exec
};

// Runs in the vfork-style child on its own stack. Raw system calls only (see the top of the
// file); the sanitizers are kept out because this stack and this moment are foreign to them.
__attribute__((no_sanitize("address", "undefined"))) int child_main(void* raw) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(raw);
  Stage stage = Stage::Signals;

  // Default dispositions for every signal, ignored ones included: an ignored SIGPIPE or SIGCHLD
  // survives execve and breaks shells and pipelines (pitfalls X10). Handlers of the host would
  // run on our shared memory until exec.
  KernelSigaction dfl{};
  dfl.handler = SIG_DFL;
  for (int sig = 1; sig < 65; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(uint64_t));
  }

  // Its own session and process group, so the tree can be signalled as a group.
  stage = Stage::Session;
  if (syscall(SYS_setsid) < 0) goto fail;

  stage = Stage::Cgroup;
  if (a.cgroup_procs_fd >= 0 && syscall(SYS_write, a.cgroup_procs_fd, "0", 1) != 1) goto fail;

  stage = Stage::Stdio;
  if (!install_child_stdio(a.stdio)) goto fail;

  stage = Stage::Chdir;
  if (a.working_dir && syscall(SYS_chdir, a.working_dir) < 0) goto fail;

  // The host's descriptors may lack O_CLOEXEC (pitfalls X7): mark all but 0..2 close-on-exec
  // (keeping the error pipe usable until exec), or close them on kernels before 5.11.
  stage = Stage::CloseFds;
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    unsigned e = static_cast<unsigned>(a.error_fd);
    if (e > 3) syscall(SYS_close_range, 3U, e - 1, 0U);
    if (syscall(SYS_close_range, e + 1, ~0U, 0U) < 0) {
      // Before 5.9: close one by one up to the descriptor limit.
      struct rlimit64 {
        uint64_t cur, max;
      } lim{1024, 1024};
      syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, &lim);
      for (uint64_t fd = 3; fd < lim.cur && fd < (1u << 20); ++fd)
        if (fd != e) syscall(SYS_close, static_cast<int>(fd));
    }
  }

  {
    stage = Stage::Exec;
    uint64_t empty = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, sizeof(empty));
    syscall(SYS_execve, a.path, a.argv, a.envp);
  }

fail:
  ChildFailure f{static_cast<int>(stage), errno};
  syscall(SYS_write, a.error_fd, &f, sizeof(f));
  syscall(SYS_exit_group, 127);
  return 127;
}

std::string stage_text(Stage s) {
  switch (s) {
    case Stage::Signals: return "resetting signals";
    case Stage::Session: return "setsid";
    case Stage::Cgroup: return "joining the cgroup";
    case Stage::Stdio: return "setting up stdio";
    case Stage::Chdir: return "changing to the working directory";
    case Stage::CloseFds: return "closing descriptors";
    case Stage::Exec: return "exec";
  }
  return "starting";
}

std::string find_var(const std::vector<std::string>& env, std::string_view name, bool* found) {
  for (auto it = env.rbegin(); it != env.rend(); ++it)
    if (it->size() > name.size() && it->compare(0, name.size(), name) == 0 && (*it)[name.size()] == '=') {
      *found = true;
      return it->substr(name.size() + 1);
    }
  *found = false;
  return {};
}

bool is_executable_file(const std::string& path, int* err) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    *err = errno;
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *err = EACCES;
    return false;
  }
  if (::access(path.c_str(), X_OK) != 0) {
    *err = errno;
    return false;
  }
  return true;
}

// PATH lookup in the parent (execvp would allocate in the child). Like Go's exec.LookPath:
// a name with '/' is used as it is (relative to the working directory); otherwise the first
// executable regular file along PATH.
std::string resolve_executable(const SpawnSpec& spec) {
  const std::string& name = spec.argv[0];
  if (name.find('/') != std::string::npos) return name;
  bool found = false;
  std::string path = find_var(spec.env, "PATH", &found);
  if (!found) {
    const char* host = ::getenv("PATH");
    path = host ? host : "/usr/local/bin:/usr/bin:/bin";
  }
  int first_err = 0;
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(begin, end - begin);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    int err = 0;
    if (is_executable_file(candidate, &err)) return candidate;
    if (err != ENOENT && err != ENOTDIR && first_err == 0) first_err = err;
    begin = end + 1;
  }
  int err = first_err ? first_err : ENOENT;
  throw SpawnError(err, "executable file \"" + name + "\" not found in PATH \"" + path + "\"" +
                            (first_err ? std::string(" (") + std::strerror(first_err) + ")" : std::string()));
}

struct Mapping {
  void* p = MAP_FAILED;
  size_t n = 0;
  ~Mapping() {
    if (p != MAP_FAILED) ::munmap(p, n);
  }
};

}  // namespace

std::vector<std::string> host_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  return env;
}

Spawned spawn_process(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) throw Error(LIFEHOOK_E_INVALID, "spawn: empty command");

  // ---- everything the child touches is prepared here ----
  std::string path = resolve_executable(spec);
  std::vector<char*> argv, envp;
  for (const auto& s : spec.argv) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  for (const auto& s : spec.env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);

  UniqueFd dev_null;
  if (spec.stdin_fd < 0 || spec.stdout_fd < 0 || spec.stderr_fd < 0) {
    dev_null.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!dev_null) throw_system("spawn: open /dev/null", errno);
  }
  // The child is born in its cgroup (clone3 CLONE_INTO_CGROUP) where the kernel can, instead of
  // writing itself into cgroup.procs: that write migrates it under the global
  // cgroup_threadgroup_rwsem, which waits for an RCU grace period whenever no migration happened
  // in the last milliseconds (container_exec_clone.hpp; 10-15 ms for an exec every few seconds).
  bool into_cgroup = spec.cgroup_fd >= 0 && g_clone_into_cgroup_works.load(std::memory_order_relaxed);
  UniqueFd procs;
  auto open_procs = [&] {
    procs.reset(::openat(spec.cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC));
    if (!procs) throw_system("spawn: open cgroup.procs", errno);
  };
  if (spec.cgroup_fd >= 0 && !into_cgroup) open_procs();
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_system("spawn: pipe2", errno);
  UniqueFd err_read(pipe_fds[0]), err_write(pipe_fds[1]);

  ChildArgs args{};
  args.path = path.c_str();
  args.argv = argv.data();
  args.envp = envp.data();
  args.working_dir = spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();
  args.stdio[0] = spec.stdin_fd >= 0 ? spec.stdin_fd : dev_null.get();
  args.stdio[1] = spec.stdout_fd >= 0 ? spec.stdout_fd : dev_null.get();
  args.stdio[2] = spec.stderr_fd >= 0 ? spec.stderr_fd : dev_null.get();
  args.cgroup_procs_fd = procs.get();
  args.error_fd = err_write.get();

  Mapping stack;
  stack.n = 64 * 1024;
  stack.p = ::mmap(nullptr, stack.n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack.p == MAP_FAILED) throw_system("spawn: mmap child stack", errno);
  void* stack_top = static_cast<char*>(stack.p) + stack.n;

  // ---- clone, with every signal blocked so no host handler can run in the child ----
  sigset_t all, old;
  sigfillset(&all);
  int pidfd = -1;
  int pid = -1;
  if (into_cgroup) {
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long r = clone_into_cgroup(child_main, &args, CLONE_VM | CLONE_VFORK, spec.cgroup_fd, stack.p, stack.n, &pidfd);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (r >= 0) {
      pid = static_cast<int>(r);
    } else if (clone_into_cgroup_unsupported(r) || r == -EPERM) {  // old kernel, or a seccomp filter
      if (r != -EPERM) g_clone_into_cgroup_works.store(false, std::memory_order_relaxed);
      pidfd = -1;
      open_procs();  // the child joins by writing itself into cgroup.procs instead
      args.cgroup_procs_fd = procs.get();
    } else {  // the cgroup's own refusal (EBUSY, EACCES, ...): what the write would have met
      int err = static_cast<int>(-r);
      throw SpawnError(err, stage_text(Stage::Cgroup) + ": " + std::strerror(err));
    }
  }
  if (pid < 0) {
    pthread_sigmask(SIG_SETMASK, &all, &old);
    // CLONE_PIDFD (5.2) gives the pidfd atomically; older kernels or seccomp filters refuse it.
    pid = ::clone(child_main, stack_top, CLONE_VM | CLONE_VFORK | CLONE_PIDFD, &args, &pidfd);
    int clone_err = errno;
    if (pid < 0 && (clone_err == EINVAL || clone_err == EPERM || clone_err == ENOSYS)) {
      pidfd = -1;
      pid = ::clone(child_main, stack_top, CLONE_VM | CLONE_VFORK, &args);
      clone_err = errno;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0) throw_system("spawn: clone", clone_err);
  }
  UniqueFd owned_pidfd(pidfd);

  // The child has exec'd or exited by now: our copy of the write end is the last one.
  err_write.reset();
  ChildFailure failure{};
  ssize_t n;
  do n = ::read(err_read.get(), &failure, sizeof(failure));
  while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(failure))) {
    siginfo_t info;
    ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | __WALL);  // the child has exited already
    Stage stage = static_cast<Stage>(failure.stage);
    std::string what = stage_text(stage);
    if (stage == Stage::Exec) what += " " + path;
    if (stage == Stage::Chdir) what += " " + spec.working_dir;
    throw SpawnError(failure.err, what + ": " + std::strerror(failure.err));
  }

  Spawned out;
  out.pid = pid;
  if (!owned_pidfd) {
    // The child cannot have been reaped yet (a clone child is not auto-reaped), so the pid is ours.
    long fd = ::syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) owned_pidfd.reset(static_cast<int>(fd));  // pidfds are always close-on-exec
  }
  out.pidfd = std::move(owned_pidfd);
  return out;
}

}  // namespace lifehook
