#include "container_exec_target.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>

#include "../common/errors.hpp"
#include "fd.hpp"

namespace lifehook {

bool read_small_file(const char* path, std::string& out, int dirfd) {
  int fd = ::openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return false;
  out.clear();
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1u << 20)) break;
  }
  ::close(fd);
  return true;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(sep, b);
    if (e == std::string_view::npos) e = s.size();
    out.emplace_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

namespace {

// Field 22 of a /proc/<pid>/stat text; the command (field 2) may hold blanks and parentheses.
// nullopt for a zombie: it has no namespaces left to join and its cgroups may be gone.
std::optional<unsigned long long> start_time_of(const std::string& stat) {
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::vector<std::string> fields = split(std::string_view(stat).substr(paren + 1), ' ');
  // fields[0] is empty (the blank after ')'), fields[1] is field 3 (state): field 22 is fields[20].
  if (fields.size() <= 20 || fields[1] == "Z" || fields[1] == "X") return std::nullopt;
  char* end = nullptr;
  unsigned long long v = std::strtoull(fields[20].c_str(), &end, 10);
  if (end == fields[20].c_str()) return std::nullopt;
  return v;
}

struct CgroupMount {
  std::string root;        // the mount's root inside the hierarchy (field 4 of mountinfo)
  std::string mountpoint;  // where it is mounted
  std::string options;     // super options: the controllers of a v1 hierarchy, "name=..."
  bool v2;
};

// mountinfo escapes blanks and backslashes as \ooo.
std::string unescape_mount_field(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<CgroupMount> cgroup_mounts() {
  std::vector<CgroupMount> mounts;
  std::string text;
  if (!read_small_file("/proc/self/mountinfo", text)) return mounts;
  for (const std::string& line : split(text, '\n')) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> pre = split(std::string_view(line).substr(0, dash), ' ');
    std::vector<std::string> post = split(std::string_view(line).substr(dash + 3), ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    bool v2 = post[0] == "cgroup2";
    if (!v2 && post[0] != "cgroup") continue;
    mounts.push_back({unescape_mount_field(pre[3]), unescape_mount_field(pre[4]), post[2], v2});
  }
  return mounts;
}

bool has_all_options(const std::string& options, const std::string& controllers) {
  std::vector<std::string> have = split(options, ',');
  for (const std::string& c : split(controllers, ',')) {
    bool found = false;
    for (const std::string& h : have) found = found || h == c;
    if (!found) return false;
  }
  return true;
}

// "<hierarchy-id>:<controllers>:<path>" lines, keyed by controllers ("" for cgroup v2).
std::map<std::string, std::string> parse_proc_cgroup(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const std::string& line : split(text, '\n')) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    out[line.substr(a + 1, b - a - 1)] = line.substr(b + 1);
  }
  return out;
}

[[noreturn]] void target_gone(int pid) {
  throw Error(LIFEHOOK_E_NOT_FOUND, "target.pid: process " + std::to_string(pid) + " has exited");
}

bool same_inode(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

void resolve_namespaces(int procdir, int pid, TargetPlan& plan) {
  for (const NsKind& k : kContainerNamespaces) {
    struct stat ours, theirs;
    if (::stat((std::string("/proc/self/ns/") + k.name).c_str(), &ours) != 0) continue;  // not in this kernel
    // Ours exists, theirs does not: the target is a zombie or gone (never "nothing to join").
    if (::fstatat(procdir, (std::string("ns/") + k.name).c_str(), &theirs, 0) != 0) target_gone(pid);
    // Joining our own namespace is useless (and refused for a user namespace).
    if (!same_inode(ours, theirs)) plan.ns_flags.push_back(k.flag);
  }
  // "NSpid: <pid here> ... <pid in its own namespace>": the last is 1 for the namespace's init.
  std::string status;
  if (std::find(plan.ns_flags.begin(), plan.ns_flags.end(), CLONE_NEWPID) != plan.ns_flags.end() &&
      read_small_file("status", status, procdir)) {
    size_t at = status.find("\nNSpid:");
    size_t eol = at == std::string::npos ? at : status.find('\n', at + 1);
    if (eol != std::string::npos) {
      std::string line = status.substr(at + 1, eol - at - 1);
      plan.pid_ns_init = line.size() > 2 && line.compare(line.size() - 2, 2, "\t1") == 0;
    }
  }
  struct stat ours, theirs;
  plan.time_ns_differs = ::stat("/proc/self/ns/time", &ours) == 0 && ::fstatat(procdir, "ns/time", &theirs, 0) == 0 &&
                         !same_inode(ours, theirs);
}

void resolve_cgroups(int procdir, int pid, TargetPlan& plan) {
  std::string theirs_text, ours_text;
  if (!read_small_file("cgroup", theirs_text, procdir)) target_gone(pid);
  read_small_file("/proc/self/cgroup", ours_text);
  auto theirs = parse_proc_cgroup(theirs_text);
  auto ours = parse_proc_cgroup(ours_text);
  // The CPU controllers last: once A is in the container's cpu cgroup it is scheduled as part of
  // the container, and on a busy host that group can wait a scheduler tick for the CPU after each
  // later system call (seen with strace -tt: 4-8 ms steps). The order of the joins does not change
  // where the process ends up (runc joins them in Go map order).
  std::vector<std::pair<std::string, std::string>> order(theirs.begin(), theirs.end());
  std::stable_partition(order.begin(), order.end(), [](const auto& entry) {
    for (const std::string& c : split(entry.first, ','))
      if (c == "cpu" || c == "cpuacct" || c == "cpuset") return false;
    return true;
  });
  std::vector<CgroupMount> mounts;
  bool mounts_read = false;
  for (const auto& [controllers, path] : order) {
    if (auto o = ours.find(controllers); o != ours.end() && o->second == path) continue;
    if (!mounts_read) mounts = cgroup_mounts(), mounts_read = true;
    const CgroupMount* m = nullptr;
    for (const CgroupMount& c : mounts) {
      if (controllers.empty() ? c.v2 : (!c.v2 && has_all_options(c.options, controllers))) {
        if (path.rfind(c.root, 0) == 0) {
          m = &c;
          break;
        }
      }
    }
    std::string what = controllers.empty() ? "cgroup v2" : "cgroup v1 hierarchy " + controllers;
    if (!m) throw_system("container exec: " + what + " of the container (" + path + ") is not mounted here", ENOENT);
    std::string dir = m->mountpoint + (m->root == "/" ? path : path.substr(m->root.size()));
    if (controllers.empty()) {
      plan.v2_dir = dir;
      plan.v2_dir_fd.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!plan.v2_dir_fd) throw_system("container exec: open " + dir, errno);
    } else {
      std::string file = dir + "/tasks";
      UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
      if (!fd) throw_system("container exec: open " + file, errno);
      plan.v1_tasks_fds.push_back(std::move(fd));
    }
  }
}

std::shared_ptr<const TargetPlan> resolve(int pid, unsigned long long start_time) {
  std::string proc_path = "/proc/" + std::to_string(pid);
  UniqueFd procdir(::open(proc_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!procdir) {
    if (errno == ENOENT || errno == ESRCH) target_gone(pid);
    throw_system("container exec: open " + proc_path, errno);
  }
  // Everything below is read through procdir: it is the process that started at start_time.
  std::string stat;
  if (!read_small_file("stat", stat, procdir.get()) || start_time_of(stat) != start_time) target_gone(pid);
  auto plan = std::make_shared<TargetPlan>();
  plan->pid = pid;
  plan->start_time = start_time;
  resolve_namespaces(procdir.get(), pid, *plan);
  resolve_cgroups(procdir.get(), pid, *plan);
  return plan;
}

struct CachedPlan {
  std::shared_ptr<const TargetPlan> plan;
  unsigned long last_use;
};
std::mutex g_plans_mutex;
std::map<std::pair<int, unsigned long long>, CachedPlan> g_plans;
unsigned long g_uses = 0;
unsigned long g_resolutions = 0;

}  // namespace

std::optional<unsigned long long> process_start_time(int pid) {
  std::string stat;
  if (!read_small_file(("/proc/" + std::to_string(pid) + "/stat").c_str(), stat)) return std::nullopt;
  return start_time_of(stat);
}

std::shared_ptr<const TargetPlan> target_plan(int pid, unsigned long long start_time) {
  std::pair<int, unsigned long long> key{pid, start_time};
  {
    std::lock_guard lock(g_plans_mutex);
    if (auto it = g_plans.find(key); it != g_plans.end()) {
      it->second.last_use = ++g_uses;
      return it->second.plan;
    }
  }
  std::shared_ptr<const TargetPlan> plan = resolve(pid, start_time);
  // Entries of processes that are gone hold descriptors of cgroups that are (being) removed:
  // dropped now, checked outside the lock (a few /proc reads, only when a new target comes).
  std::vector<std::pair<int, unsigned long long>> keys, dead;
  {
    std::lock_guard lock(g_plans_mutex);
    for (const auto& entry : g_plans) keys.push_back(entry.first);
  }
  for (const auto& k : keys)
    if (process_start_time(k.first) != k.second) dead.push_back(k);
  std::vector<CachedPlan> released;  // closed once the lock is let go
  std::lock_guard lock(g_plans_mutex);
  ++g_resolutions;
  for (const auto& k : dead)
    if (auto it = g_plans.find(k); it != g_plans.end()) {
      released.push_back(std::move(it->second));
      g_plans.erase(it);
    }
  while (g_plans.size() >= kMaxTargetPlans) {
    auto oldest = g_plans.begin();
    for (auto it = g_plans.begin(); it != g_plans.end(); ++it)
      if (it->second.last_use < oldest->second.last_use) oldest = it;
    released.push_back(std::move(oldest->second));
    g_plans.erase(oldest);
  }
  g_plans[key] = CachedPlan{plan, ++g_uses};
  return plan;
}

void clear_target_plans() {
  std::map<std::pair<int, unsigned long long>, CachedPlan> released;  // closed once the lock is let go
  std::lock_guard lock(g_plans_mutex);
  released.swap(g_plans);
}

unsigned long target_plan_resolutions() {
  std::lock_guard lock(g_plans_mutex);
  return g_resolutions;
}

}  // namespace lifehook
