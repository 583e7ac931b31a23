// See container_exec.hpp for the design (two vfork-style clones, CLONE_PARENT for the pid
// namespace, runc's order of operations). This file: the per-bundle cache, the preparation in
// the parent, and the two child functions A (namespaces, cgroups) and G (credentials, exec).
#include "container_exec.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "../common/errors.hpp"
#include "child_stdio.hpp"
#include "container_exec_clone.hpp"
#include "container_exec_target.hpp"
#include "oci_config.hpp"
#include "oci_seccomp.hpp"

namespace lifehook {
namespace {

// The child functions run on a foreign stack in a process that shares our memory: keep the
// sanitizers' bookkeeping out of them (as spawn.cpp does).
#define LIFEHOOK_CHILD_SIDE __attribute__((no_sanitize("address", "undefined"), noinline))

// ---------------------------------------------------------------------------------------------
// Per-bundle preparation, cached: parsing config.json and compiling a seccomp profile cost far
// more than the exec itself (a Docker-like profile takes milliseconds in libseccomp).

struct PreparedBundle {
  OciConfig config;
  std::optional<SeccompProgram> seccomp;
  std::string lsm_attr;   // "/proc/thread-self/attr/..." to write the exec label to; empty: none
  std::string lsm_label;  // what to write there
  std::vector<std::string> warnings;
};

struct CacheEntry {
  dev_t dev;
  ino_t ino;
  off_t size;
  timespec mtime;
  std::shared_ptr<const PreparedBundle> prepared;
};

// Cleared on the first clone3 that the kernel does not support; then A joins by a write.
std::atomic<bool> g_clone_into_cgroup_works{true};

std::mutex g_cache_mutex;
std::map<std::string, CacheEntry> g_cache;

bool apparmor_enabled() {
  std::string s;
  return read_small_file("/sys/module/apparmor/parameters/enabled", s) && !s.empty() && s[0] == 'Y';
}

bool selinux_enabled() { return ::access("/sys/fs/selinux/enforce", F_OK) == 0; }

std::shared_ptr<const PreparedBundle> prepare_bundle(const std::string& bundle) {
  auto p = std::make_shared<PreparedBundle>();
  p->config = load_oci_config(bundle);
  p->warnings = p->config.warnings;
  if (p->config.seccomp)
    p->seccomp = compile_seccomp(*p->config.seccomp, p->config.file + ": linux.seccomp", p->warnings);
  const OciProcess& proc = p->config.process;
  // runc applies a label only where the LSM is on; we say so instead of staying silent.
  if (!proc.apparmor_profile.empty()) {
    if (apparmor_enabled()) {
      p->lsm_attr = "/proc/thread-self/attr/apparmor/exec";
      p->lsm_label = "exec " + proc.apparmor_profile;
    } else {
      p->warnings.push_back("process.apparmorProfile \"" + proc.apparmor_profile +
                            "\" not applied: AppArmor is not enabled on this host");
    }
  }
  if (!proc.selinux_label.empty()) {
    if (selinux_enabled() && p->lsm_attr.empty()) {
      p->lsm_attr = "/proc/thread-self/attr/exec";
      p->lsm_label = proc.selinux_label;
    } else {
      p->warnings.push_back("process.selinuxLabel \"" + proc.selinux_label +
                            "\" not applied: SELinux is not enabled on this host");
    }
  }
  return p;
}

std::shared_ptr<const PreparedBundle> cached_bundle(const std::string& bundle) {
  if (bundle.empty())
    throw_invalid("target.bundle",
                  "is required to exec inside a container (its config.json gives "
                  "user, capabilities, seccomp, env and cwd)");
  std::string file = bundle + "/config.json";
  struct stat st;
  if (::stat(file.c_str(), &st) != 0)
    throw_invalid("target.bundle", "has no readable config.json (" + file + ": " + std::strerror(errno) + ")", bundle);
  std::lock_guard lock(g_cache_mutex);
  auto it = g_cache.find(bundle);
  if (it != g_cache.end() && it->second.dev == st.st_dev && it->second.ino == st.st_ino &&
      it->second.size == st.st_size && it->second.mtime.tv_sec == st.st_mtim.tv_sec &&
      it->second.mtime.tv_nsec == st.st_mtim.tv_nsec)
    return it->second.prepared;
  auto prepared = prepare_bundle(bundle);
  if (g_cache.size() >= 256) g_cache.clear();  // bounded; a node rarely has more live bundles
  g_cache[bundle] = CacheEntry{st.st_dev, st.st_ino, st.st_size, st.st_mtim, prepared};
  return prepared;
}

int last_capability() {
  static const int last = [] {
    std::string s;
    if (read_small_file("/proc/sys/kernel/cap_last_cap", s)) {
      int v = std::atoi(s.c_str());
      if (v > 0 && v < 64) return v;
    }
    return CAP_LAST_CAP;
  }();
  return last;
}

// ---------------------------------------------------------------------------------------------
// Namespaces and cgroups of the target (what does not change is in TargetPlan).

struct NsJoin {
  int fd;    // a /proc/<pid>/ns/* file, or the target's pidfd (all namespaces in one call)
  int flag;  // CLONE_NEW*, several for a pidfd
};

// setns(pidfd, CLONE_NEW*|...) (Linux 5.8) joins all namespaces of a process in one call and one
// credential switch, the kernel applying them as setns of each file would (user namespace first).
bool setns_takes_pidfd() {
  static const bool yes = [] {
    utsname u;
    int major = 0, minor = 0;
    return ::uname(&u) == 0 && std::sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
           (major > 5 || (major == 5 && minor >= 8));
  }();
  return yes;
}

// Why A joins the cgroups of the plan the way it does:
//   v1: through the hierarchy's "tasks" file, not cgroup.procs. Writing "0" to cgroup.procs moves
//       the whole thread group under the global cgroup_threadgroup_rwsem held for writing, which
//       waits for an RCU grace period whenever no migration happened in the last milliseconds
//       (10-15 ms on a quiet host, measured). "0" into "tasks" moves only the calling thread, and
//       the kernel (since 5.x: cgroup_procs_write_start) skips that lock for it. A is a
//       single-threaded process (clone without CLONE_THREAD), so moving its thread moves all of
//       it: /proc/self/cgroup ends up exactly as with cgroup.procs.
//   v2: A is created in it with clone3(CLONE_INTO_CGROUP) (no migration at all); cgroup.threads
//       cannot cross domains, so this is the v2 way around the lock.

// HOME as runc sets it when the environment has none: the user's home in the container's
// /etc/passwd, "/" when the uid is not listed.
std::string container_home(int pid, uint32_t uid) {
  std::string text;
  if (!read_small_file(("/proc/" + std::to_string(pid) + "/root/etc/passwd").c_str(), text)) return "/";
  for (const std::string& line : split(text, '\n')) {
    std::vector<std::string> f = split(line, ':');
    if (f.size() >= 6 && f[2] == std::to_string(uid)) return f[5].empty() ? "/" : f[5];
  }
  return "/";
}

// ---------------------------------------------------------------------------------------------
// The child side.

enum class Stage : int {
  None = 0,
  // in A
  Signals,
  OomScore,
  Cgroup,
  Setns,
  CloneInner,
  // in G
  Session,
  Umask,
  Stdio,
  CloseFds,
  Rlimit,
  NoNewPrivs,
  LsmLabel,
  Seccomp,
  Bounding,
  KeepCaps,
  Groups,
  Gid,
  Uid,
  Chdir,
  Capabilities,
  Exec,
};

struct RawRlimit {
  int resource;
  struct {
    uint64_t cur, max;
  } limit;
};

// The kernel's struct sigaction (see spawn.cpp).
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};

struct ExecArgs {
  // A
  const int* cgroup_fds;
  int cgroup_count;
  const char* oom_score;  // decimal text, nullptr: leave
  const NsJoin* ns;
  int ns_count;
  void* inner_stack_top;
  // G
  int stdio[3];
  bool stdio_chown[3];
  bool set_umask;
  unsigned umask;
  const RawRlimit* rlimits;
  int rlimit_count;
  bool no_new_privs;
  const char* lsm_attr;  // nullptr: none
  const char* lsm_label;
  size_t lsm_label_len;
  const sock_fprog* seccomp;  // nullptr: none
  unsigned seccomp_flags;
  uint64_t bounding;
  int last_cap;
  const gid_t* groups;
  int group_count;
  uint32_t uid, gid;
  const char* cwd;
  __user_cap_header_struct cap_header;
  __user_cap_data_struct cap_data[2];
  uint64_t ambient;
  const char* const* candidates;  // executable paths to try in order (PATH lookup)
  int candidate_count;
  char* const* argv;
  char* const* envp;
  // Written by A and G (shared memory); read by the parent after A has exited.
  volatile int inner_pid;
  volatile int fail_stage;
  volatile int fail_err;
  volatile int fail_index;
};

LIFEHOOK_CHILD_SIDE void record_failure(ExecArgs& a, Stage stage, int index, int err) {
  a.fail_err = err;
  a.fail_index = index;
  a.fail_stage = static_cast<int>(stage);
}

LIFEHOOK_CHILD_SIDE bool write_all(int fd, const char* data, size_t len) {
  return syscall(SYS_write, fd, data, len) == static_cast<long>(len);
}

LIFEHOOK_CHILD_SIDE bool load_seccomp(const ExecArgs& a) {
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, a.seccomp_flags, a.seccomp) == 0) return true;
  // Kernels before 3.17 have no seccomp(2) (flags need it; without flags prctl does the same).
  return a.seccomp_flags == 0 && errno == ENOSYS &&
         syscall(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, a.seccomp, 0, 0) == 0;
}

// G: the process that execs, inside every namespace of the container.
LIFEHOOK_CHILD_SIDE int inner_main(void* raw) {
  ExecArgs& a = *static_cast<ExecArgs*>(raw);
  Stage stage = Stage::Session;
  int index = 0;

  // Its own session and process group, so a timeout can signal the whole tree it starts.
  if (syscall(SYS_setsid) < 0) goto fail;

  stage = Stage::Umask;
  syscall(SYS_umask, a.set_umask ? a.umask : 022u);

  {
    stage = Stage::Stdio;
    if (!install_child_stdio(a.stdio)) goto fail;
    // runc hands stdio to a non-root user so it can reopen /proc/self/fd/N; failures are fine.
    for (int i = 0; i < 3; ++i)
      if (a.stdio_chown[i]) syscall(SYS_fchown, i, a.uid, a.gid);
  }

  // Nothing of the host may leak into the container (pitfalls X7).
  stage = Stage::CloseFds;
  if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
    for (int fd = 3; fd < 65536; ++fd) syscall(SYS_close, fd);
  }

  stage = Stage::Rlimit;
  for (index = 0; index < a.rlimit_count; ++index)
    if (syscall(SYS_prlimit64, 0, a.rlimits[index].resource, &a.rlimits[index].limit, nullptr) < 0) goto fail;
  index = 0;

  stage = Stage::NoNewPrivs;
  if (a.no_new_privs && syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) goto fail;

  stage = Stage::LsmLabel;
  if (a.lsm_attr) {
    long fd = syscall(SYS_openat, AT_FDCWD, a.lsm_attr, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || !write_all(static_cast<int>(fd), a.lsm_label, a.lsm_label_len)) goto fail;
    syscall(SYS_close, fd);
  }

  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before the capabilities drop
  // (runc does the same). With it, as late as possible, so the profile sees fewer of our calls.
  stage = Stage::Seccomp;
  if (a.seccomp && !a.no_new_privs && !load_seccomp(a)) goto fail;

  stage = Stage::Bounding;
  for (int cap = 0; cap <= a.last_cap; ++cap)
    if (!(a.bounding & (uint64_t{1} << cap)) && syscall(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
        errno != EINVAL) {
      index = cap;
      goto fail;
    }

  stage = Stage::KeepCaps;
  if (syscall(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) goto fail;
  stage = Stage::Groups;
  if (syscall(SYS_setgroups, a.group_count, a.groups) < 0) goto fail;
  stage = Stage::Gid;
  if (syscall(SYS_setgid, a.gid) < 0) goto fail;
  stage = Stage::Uid;
  if (syscall(SYS_setuid, a.uid) < 0) goto fail;

  stage = Stage::Chdir;
  if (syscall(SYS_chdir, a.cwd) < 0) goto fail;

  stage = Stage::KeepCaps;
  if (syscall(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) goto fail;
  stage = Stage::Capabilities;
  if (syscall(SYS_capset, &a.cap_header, a.cap_data) < 0) goto fail;
  // As runc: an ambient capability that is not also permitted and inheritable cannot be raised;
  // that is not an error (the parent already warned about it).
  for (int cap = 0; cap <= a.last_cap; ++cap)
    if (a.ambient & (uint64_t{1} << cap)) syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);

  {
    stage = Stage::Exec;
    uint64_t empty = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, sizeof(empty));
  }
  stage = Stage::Seccomp;
  if (a.seccomp && a.no_new_privs && !load_seccomp(a)) goto fail;

  {
    stage = Stage::Exec;
    // execvpe's rules: skip candidates that do not exist, remember a permission error.
    int first_err = ENOENT;
    for (index = 0; index < a.candidate_count; ++index) {
      syscall(SYS_execve, a.candidates[index], a.argv, a.envp);
      int e = errno;
      if (e == EACCES)
        first_err = EACCES;
      else if (e != ENOENT && e != ENOTDIR)
        break;
    }
    if (index >= a.candidate_count) {
      index = a.candidate_count - 1;
      errno = first_err;
    }
  }

fail:
  record_failure(a, stage, index, errno);
  syscall(SYS_exit_group, 127);
  return 127;
}

// A: joins cgroups and namespaces, then creates G as a sibling (our child) inside them.
LIFEHOOK_CHILD_SIDE int outer_main(void* raw) {
  ExecArgs& a = *static_cast<ExecArgs*>(raw);
  Stage stage = Stage::Signals;
  int index = 0;
  long pid;

  {
    // Default dispositions (an ignored SIGPIPE/SIGCHLD would survive execve, pitfalls X10); every
    // signal stays blocked until G is about to exec.
    KernelSigaction dfl{};
    dfl.handler = SIG_DFL;
    for (int sig = 1; sig < 65; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(uint64_t));
    }
  }

  stage = Stage::OomScore;
  if (a.oom_score) {
    long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    size_t len = 0;
    while (a.oom_score[len]) ++len;
    if (fd < 0 || !write_all(static_cast<int>(fd), a.oom_score, len)) goto fail;
    syscall(SYS_close, fd);
  }

  // Cgroups first: after joining a user namespace we could no longer write the host's cgroupfs.
  stage = Stage::Cgroup;
  for (index = 0; index < a.cgroup_count; ++index)
    if (syscall(SYS_write, a.cgroup_fds[index], "0", 1) != 1) goto fail;

  stage = Stage::Setns;
  for (index = 0; index < a.ns_count; ++index)
    if (syscall(SYS_setns, a.ns[index].fd, a.ns[index].flag) < 0) goto fail;
  index = 0;

  // CLONE_PARENT: G's parent is our parent, so the host reaps G (exact status, no zombie for the
  // container's init) although G lives in the container's pid namespace. CLONE_VFORK: we wait
  // here until G has exec'd, so our caller knows the outcome once we are gone.
  stage = Stage::CloneInner;
  pid = ::clone(inner_main, a.inner_stack_top, CLONE_VM | CLONE_VFORK | CLONE_PARENT, &a);
  if (pid < 0) goto fail;
  a.inner_pid = static_cast<int>(pid);
  syscall(SYS_exit_group, 0);
  return 0;

fail:
  record_failure(a, stage, index, errno);
  syscall(SYS_exit_group, 127);
  return 127;
}

std::string stage_text(Stage s) {
  switch (s) {
    case Stage::Signals: return "resetting signals";
    case Stage::OomScore: return "setting oom_score_adj";
    case Stage::Cgroup: return "joining the container's cgroup";
    case Stage::Setns: return "joining the container's namespaces";
    case Stage::CloneInner: return "creating the process in the container's pid namespace";
    case Stage::Session: return "setsid";
    case Stage::Umask: return "umask";
    case Stage::Stdio: return "setting up stdio";
    case Stage::CloseFds: return "closing descriptors";
    case Stage::Rlimit: return "setting process.rlimits";
    case Stage::NoNewPrivs: return "setting no_new_privs";
    case Stage::LsmLabel: return "setting the LSM exec label";
    case Stage::Seccomp: return "loading the seccomp filter";
    case Stage::Bounding: return "dropping capabilities from the bounding set";
    case Stage::KeepCaps: return "prctl(PR_SET_KEEPCAPS)";
    case Stage::Groups: return "setgroups(process.user.additionalGids)";
    case Stage::Gid: return "setgid(process.user.gid)";
    case Stage::Uid: return "setuid(process.user.uid)";
    case Stage::Chdir: return "changing to the working directory";
    case Stage::Capabilities: return "setting capabilities";
    case Stage::Exec: return "exec";
    case Stage::None: break;
  }
  return "starting";
}

struct Mapping {
  void* p = MAP_FAILED;
  size_t n = 0;
  ~Mapping() {
    if (p != MAP_FAILED) ::munmap(p, n);
  }
};

void set_env(std::vector<std::string>& env, const std::string& entry) {
  size_t eq = entry.find('=');
  std::string_view name(entry.data(), eq == std::string::npos ? entry.size() : eq + 1);
  for (std::string& e : env)
    if (std::string_view(e).substr(0, name.size()) == name) {
      e = entry;
      return;
    }
  env.push_back(entry);
}

const std::string* find_env(const std::vector<std::string>& env, std::string_view name) {
  for (const std::string& e : env)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') return &e;
  return nullptr;
}

}  // namespace

void clear_container_exec_cache() {
  {
    std::lock_guard lock(g_cache_mutex);
    g_cache.clear();
  }
  clear_target_plans();
}

ContainerSpawned spawn_in_container(const ContainerExecSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) throw_invalid("handler.exec.command", "must not be empty");
  if (spec.target_pid <= 0) throw_invalid("target.pid", "is required to exec inside a container");
  std::shared_ptr<const PreparedBundle> bundle = cached_bundle(spec.bundle);
  const OciProcess& proc = bundle->config.process;
  ContainerSpawned out;
  out.warnings = bundle->warnings;

  // ---- the target ----
  // The pidfd first: it names one process for good. The start time read after it being the
  // plan's proves that the pidfd's process is the plan's (a pid is held by one process at a time).
  const int pid = spec.target_pid;
  auto gone = [pid] { return Error(LIFEHOOK_E_NOT_FOUND, "target.pid: no process " + std::to_string(pid)); };
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd && errno == ESRCH) throw gone();
  std::optional<unsigned long long> start = process_start_time(pid);
  if (!start) throw gone();
  std::shared_ptr<const TargetPlan> plan = target_plan(pid, *start);
  // A time namespace can only be joined by a process that shares no memory (setns: EUSERS).
  if (plan->time_ns_differs)
    out.warnings.push_back("the container's time namespace is not joined (clocks are the host's)");

  std::vector<UniqueFd> ns_fds;
  std::vector<NsJoin> ns;
  if (pidfd && setns_takes_pidfd()) {
    int flags = 0;
    for (int f : plan->ns_flags) flags |= f;
    if (flags) ns.push_back({pidfd.get(), flags});
  } else {
    // One /proc/<pid>/ns file each; the start time read again afterwards proves they are the plan's.
    for (const NsKind& k : kContainerNamespaces) {
      if (std::find(plan->ns_flags.begin(), plan->ns_flags.end(), k.flag) == plan->ns_flags.end()) continue;
      std::string path = "/proc/" + std::to_string(pid) + "/ns/" + k.name;
      UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd && (errno == ENOENT || errno == ESRCH)) throw gone();
      if (!fd) throw_system("container exec: open " + path, errno);
      ns.push_back({fd.get(), k.flag});
      ns_fds.push_back(std::move(fd));
    }
    if (process_start_time(pid) != start) throw gone();
  }

  std::vector<int> cgroup_fds;
  for (const UniqueFd& f : plan->v1_tasks_fds) cgroup_fds.push_back(f.get());
  UniqueFd v2_procs;  // only where the kernel cannot clone into a cgroup: A writes itself there
  auto join_v2_by_write = [&] {
    v2_procs.reset(::openat(plan->v2_dir_fd.get(), "cgroup.procs", O_WRONLY | O_CLOEXEC));
    if (!v2_procs) throw_system("container exec: open " + plan->v2_dir + "/cgroup.procs", errno);
    cgroup_fds.insert(cgroup_fds.begin(), v2_procs.get());
  };
  bool clone_into_v2 = plan->v2_dir_fd && g_clone_into_cgroup_works.load(std::memory_order_relaxed);
  if (plan->v2_dir_fd && !clone_into_v2) join_v2_by_write();

  // ---- environment, argv, PATH candidates ----
  std::vector<std::string> env = proc.env;
  for (const std::string& e : spec.env) set_env(env, e);
  if (!find_env(env, "HOME")) env.push_back("HOME=" + container_home(pid, proc.uid));
  std::vector<std::string> candidates;
  const std::string& name = spec.argv[0];
  if (name.find('/') != std::string::npos) {
    candidates.push_back(name);
  } else {
    const std::string* path_var = find_env(env, "PATH");
    std::string path = path_var ? path_var->substr(5) : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (std::string dir : split(path, ':')) candidates.push_back((dir.empty() ? "." : dir) + "/" + name);
  }
  std::vector<const char*> candidate_ptrs;
  for (const auto& c : candidates) candidate_ptrs.push_back(c.c_str());
  std::vector<char*> argv, envp;
  for (const auto& s : spec.argv) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  for (const auto& s : env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);
  std::string cwd = spec.working_dir.empty() ? proc.cwd : spec.working_dir;

  // ---- credentials ----
  std::vector<gid_t> groups(proc.additional_gids.begin(), proc.additional_gids.end());
  std::vector<RawRlimit> rlimits;
  for (const OciRlimit& r : proc.rlimits) rlimits.push_back({r.resource, {r.soft, r.hard}});
  const OciCapabilities& caps = proc.capabilities;
  std::string oom = proc.oom_score_adj ? std::to_string(*proc.oom_score_adj) : std::string();

  UniqueFd dev_null;
  if (spec.stdin_fd < 0 || spec.stdout_fd < 0 || spec.stderr_fd < 0) {
    dev_null.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!dev_null) throw_system("container exec: open /dev/null", errno);
  }

  ExecArgs a{};
  a.cgroup_fds = cgroup_fds.data();
  a.cgroup_count = static_cast<int>(cgroup_fds.size());
  a.oom_score = oom.empty() ? nullptr : oom.c_str();
  a.ns = ns.data();
  a.ns_count = static_cast<int>(ns.size());
  int given[3] = {spec.stdin_fd, spec.stdout_fd, spec.stderr_fd};
  for (int i = 0; i < 3; ++i) {
    a.stdio[i] = given[i] >= 0 ? given[i] : dev_null.get();
    a.stdio_chown[i] = given[i] >= 0 && proc.uid != 0;
  }
  a.set_umask = proc.umask.has_value();
  a.umask = proc.umask.value_or(022);
  a.rlimits = rlimits.data();
  a.rlimit_count = static_cast<int>(rlimits.size());
  a.no_new_privs = proc.no_new_privileges;
  a.lsm_attr = bundle->lsm_attr.empty() ? nullptr : bundle->lsm_attr.c_str();
  a.lsm_label = bundle->lsm_label.c_str();
  a.lsm_label_len = bundle->lsm_label.size();
  sock_fprog fprog{};
  if (bundle->seccomp) {
    fprog = bundle->seccomp->fprog();
    a.seccomp = &fprog;
    a.seccomp_flags = bundle->seccomp->flags;
  }
  a.bounding = caps.bounding;
  a.last_cap = last_capability();
  a.groups = groups.data();
  a.group_count = static_cast<int>(groups.size());
  a.uid = proc.uid;
  a.gid = proc.gid;
  a.cwd = cwd.c_str();
  a.cap_header.version = _LINUX_CAPABILITY_VERSION_3;
  a.cap_header.pid = 0;
  a.cap_data[0] = {static_cast<uint32_t>(caps.effective), static_cast<uint32_t>(caps.permitted),
                   static_cast<uint32_t>(caps.inheritable)};
  a.cap_data[1] = {static_cast<uint32_t>(caps.effective >> 32), static_cast<uint32_t>(caps.permitted >> 32),
                   static_cast<uint32_t>(caps.inheritable >> 32)};
  a.ambient = caps.ambient;
  a.candidates = candidate_ptrs.data();
  a.candidate_count = static_cast<int>(candidate_ptrs.size());
  a.argv = argv.data();
  a.envp = envp.data();
  a.inner_pid = -1;

  // Two stacks in one mapping: A's on top, G's below (A is suspended while G runs).
  constexpr size_t kStack = 64 * 1024;
  Mapping stacks;
  stacks.n = 2 * kStack;
  stacks.p = ::mmap(nullptr, stacks.n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stacks.p == MAP_FAILED) throw_system("container exec: mmap child stacks", errno);
  a.inner_stack_top = static_cast<char*>(stacks.p) + kStack;
  void* outer_top = static_cast<char*>(stacks.p) + 2 * kStack;
  void* stacks_of_outer = static_cast<char*>(stacks.p) + kStack;

  // ---- clone A with every signal blocked (no host handler may run on our memory) ----
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // Exit signal 0: a "clone child", like spawn_process()'s children (reaped with __WALL; a host's
  // waitpid(-1) cannot steal it). G inherits it through CLONE_PARENT.
  // A is born in the container's cgroup v2 where the kernel can (see container_exec_clone.hpp).
  long outer = -ENOSYS;
  if (clone_into_v2) {
    outer = clone_into_cgroup(outer_main, &a, CLONE_VM | CLONE_VFORK, plan->v2_dir_fd.get(), stacks_of_outer, kStack);
    if (clone_into_cgroup_unsupported(outer)) {
      g_clone_into_cgroup_works.store(false, std::memory_order_relaxed);
      join_v2_by_write();
      a.cgroup_fds = cgroup_fds.data();
      a.cgroup_count = static_cast<int>(cgroup_fds.size());
      clone_into_v2 = false;
    }
  }
  int clone_err = 0;
  if (!clone_into_v2) {
    outer = ::clone(outer_main, outer_top, CLONE_VM | CLONE_VFORK, &a);
    clone_err = errno;
  } else if (outer < 0) {
    clone_err = static_cast<int>(-outer);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (outer < 0 && clone_into_v2)
    throw SpawnError(clone_err,
                     "joining the container's cgroup (clone3 into " + plan->v2_dir + "): " + std::strerror(clone_err));
  if (outer < 0) throw_system("container exec: clone", clone_err);
  siginfo_t info;
  while (::waitid(P_PID, static_cast<id_t>(outer), &info, WEXITED | __WALL) < 0 && errno == EINTR) {
  }

  int inner = a.inner_pid;
  Stage stage = static_cast<Stage>(a.fail_stage);
  if (stage != Stage::None) {
    if (inner > 0)
      while (::waitid(P_PID, static_cast<id_t>(inner), &info, WEXITED | __WALL) < 0 && errno == EINTR) {
      }
    int err = a.fail_err;
    std::string what = stage_text(stage);
    if (stage == Stage::Setns && a.fail_index < static_cast<int>(ns.size())) {
      std::string names;
      for (const NsKind& k : kContainerNamespaces)
        if (k.flag & ns[static_cast<size_t>(a.fail_index)].flag)
          names += (names.empty() ? "" : ", ") + std::string(k.name);
      what += " (" + names + ")";
    }
    if (stage == Stage::CloneInner && err == ENOMEM) what += " (the container's init has exited)";
    if (stage == Stage::Exec) {
      if (candidates.size() > 1 && err == ENOENT)
        what = "executable file \"" + name + "\" not found in the container's PATH";
      else
        what += " " + candidates[static_cast<size_t>(std::max(0, static_cast<int>(a.fail_index)))];
    }
    if (stage == Stage::Chdir) what += " " + cwd;
    throw SpawnError(err, what + ": " + std::strerror(err));
  }
  if (inner <= 0) throw_system("container exec: the process in the container was not created", ECHILD);

  out.spawned.pid = inner;
  if (plan->pid_ns_init &&
      std::find(plan->ns_flags.begin(), plan->ns_flags.end(), CLONE_NEWPID) != plan->ns_flags.end()) {
    out.spawned.reaper = pid;  // G's orphans go to the container's init (proc_tree.hpp TreeScope)
    out.spawned.reaper_start_time = *start;
  }
  // G is our unreaped clone child: its pid cannot be reused before we reap it.
  long fd = ::syscall(SYS_pidfd_open, inner, 0);
  if (fd >= 0) out.spawned.pidfd.reset(static_cast<int>(fd));
  return out;
}

}  // namespace lifehook
