// cgroup v2 trees for clean kills; see cgroup.hpp for where they live and the fallback when
// they are unavailable.
#include "cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

#include "../common/regular_file.hpp"
#include "cgroup_file.hpp"

namespace lifehook {
namespace {

struct Cgroup2Mount {
  std::string point;  // where it is mounted
  std::string root;   // which directory of the hierarchy is mounted there ("/" usually)
};

// Bounds of the /proc files read here: a node with thousands of pods has some ten thousand
// mounts of 100-200 bytes each; /proc/self/cgroup has a line per hierarchy.
constexpr size_t kMaxMountinfoBytes = size_t{16} << 20;
constexpr size_t kMaxProcCgroupBytes = size_t{64} << 10;

// Throws FileReadError when /proc/self/mountinfo cannot be read.
Cgroup2Mount read_cgroup2_mount() {
  std::istringstream in(read_regular_file("/proc/self/mountinfo", kMaxMountinfoBytes));
  std::string line;
  while (std::getline(in, line)) {
    // "<id> <parent> <maj:min> <root> <mount point> <options> [optional...] - <fstype> <source> <super options>"
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, point;
    head >> id >> parent >> dev >> root >> point;
    return {point, root};
  }
  return {};
}

bool events_flag(int dir, std::string_view key) {
  std::string events = read_cgroup_file(dir, "cgroup.events");
  std::string needle = std::string(key) + " 1";
  size_t at = 0;
  while ((at = events.find(needle, at)) != std::string::npos) {
    if ((at == 0 || events[at - 1] == '\n') &&
        (at + needle.size() == events.size() || events[at + needle.size()] == '\n'))
      return true;
    at += needle.size();
  }
  return false;
}

// Waits (bounded) for a flag of cgroup.events to become 0/1: the kernel signals changes of that
// file with POLLPRI. Already there (the usual case): no descriptor is opened.
void wait_events(int dir, std::string_view key, bool want, std::chrono::milliseconds limit) {
  if (events_flag(dir, key) == want) return;
  auto deadline = std::chrono::steady_clock::now() + limit;
  int fd = ::openat(dir, "cgroup.events", O_RDONLY | O_CLOEXEC);
  while (events_flag(dir, key) != want) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (fd >= 0) {
      char buf[256];
      [[maybe_unused]] ssize_t n = ::pread(fd, buf, sizeof(buf), 0);  // re-arm the notification
      pollfd p{fd, POLLPRI, 0};
      ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 10)));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  if (fd >= 0) ::close(fd);
}

}  // namespace

// ---- Cgroup ------------------------------------------------------------------------------

Cgroup::Cgroup(std::string path, UniqueFd dir, std::shared_ptr<CgroupPool> pool)
    : path_(std::move(path)), dir_(std::move(dir)), pool_(std::move(pool)) {}

Cgroup::~Cgroup() {
  if (!empty_seen_) kill_all();
  if (pool_ && (killed_ ? pool_->retire(path_, dir_) : pool_->give(path_, dir_))) return;
  remove(path_, std::move(dir_));
}

void Cgroup::remove(const std::string& path, UniqueFd dir) {
  // SIGKILL is asynchronous: the members leave the cgroup a moment later.
  wait_events(dir.get(), "populated", false, std::chrono::milliseconds(500));
  dir.reset();
  // rmdir may still see EBUSY while the last members finish dying: retry briefly. A cgroup that
  // stays is removed by the next CgroupManager of a later process (remove_stale).
  for (int i = 0; i < 50; ++i) {
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// ---- CgroupPool --------------------------------------------------------------------------

CgroupPool::~CgroupPool() {
  for (auto* list : {&entries_, &retired_})
    for (auto& e : *list) Cgroup::remove(e.path, std::move(e.dir));
}

void CgroupPool::sweep_retired() {
  for (size_t i = retired_.size(); i-- > 0;) {
    Entry& e = retired_[i];
    if (events_flag(e.dir.get(), "populated")) continue;  // members still leaving
    e.dir.reset();
    if (::rmdir(e.path.c_str()) != 0 && errno == EBUSY) continue;
    retired_.erase(retired_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

bool CgroupPool::retire(std::string& path, UniqueFd& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  sweep_retired();
  if (retired_.size() >= capacity_ || !dir) return false;
  retired_.push_back(Entry{std::move(path), std::move(dir)});
  return true;
}

bool CgroupPool::take(std::string& path, UniqueFd& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!retired_.empty()) sweep_retired();
  if (entries_.empty()) return false;
  // Newest first: the one given back last is the likeliest to be warm in the kernel's caches.
  // Given back empty and never killed, and nothing but a spawn of ours puts a process in it.
  path = std::move(entries_.back().path);
  dir = std::move(entries_.back().dir);
  entries_.pop_back();
  return true;
}

bool CgroupPool::give(std::string& path, UniqueFd& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= capacity_ || !dir) return false;
  entries_.push_back(Entry{std::move(path), std::move(dir)});
  return true;
}

size_t CgroupPool::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

std::vector<int> Cgroup::pids() const {
  std::vector<int> out;
  std::istringstream in(read_cgroup_file(dir_.get(), "cgroup.procs"));
  int pid;
  while (in >> pid) out.push_back(pid);
  return out;
}

bool Cgroup::populated() const {
  std::string events = read_cgroup_file(dir_.get(), "cgroup.events");
  if (events.empty()) return !pids().empty();
  return events_flag(dir_.get(), "populated");
}

void Cgroup::kill_all() {
  // An empty cgroup is not written to: cgroup.kill also marks the cgroup itself on recent
  // kernels (the kill_seq of the kernel's "cgroup: fix race between fork and cgroup.kill"), and
  // on 6.18 a child cloned into a once-killed cgroup with CLONE_INTO_CGROUP is killed at birth
  // (tests/unit/cgroup_pool_test.cpp). So a cgroup killed once is never used again (~Cgroup
  // retires it).
  if (!populated()) {
    // Final: only a spawn of ours puts a process in, and kill_all runs after the spawn.
    empty_seen_ = true;
    return;
  }
  killed_ = true;
  // Linux 5.14+: one write kills every member, including ones forking right now.
  int err = write_cgroup_file(dir_.get(), "cgroup.kill", "1");
  if (err == 0) return;
  // Older kernels: freeze so nobody forks while we read the list, kill each, thaw (a frozen
  // process dies only once thawed).
  bool frozen = write_cgroup_file(dir_.get(), "cgroup.freeze", "1") == 0;
  if (frozen) wait_events(dir_.get(), "frozen", true, std::chrono::milliseconds(100));
  for (int round = 0; round < 20; ++round) {
    std::vector<int> members = pids();
    if (members.empty()) break;
    for (int pid : members) ::kill(pid, SIGKILL);
    if (frozen) break;  // no forks while frozen: one round is all
  }
  if (frozen) write_cgroup_file(dir_.get(), "cgroup.freeze", "0");
}

// ---- CgroupManager -----------------------------------------------------------------------

namespace {
// Throws FileReadError when /proc/self/cgroup cannot be read.
std::string read_own_cgroup_path() {
  std::istringstream in(read_regular_file("/proc/self/cgroup", kMaxProcCgroupBytes));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  return {};
}
}  // namespace

CgroupManager::CgroupManager(spdlog::logger& log) : log_(log) {
  Cgroup2Mount mount;
  std::string own;
  try {
    mount = read_cgroup2_mount();
    own = read_own_cgroup_path();
  } catch (const FileReadError& e) {
    log_.info("cgroups: {}; process trees are killed by group", e.what());
    return;
  }
  if (mount.point.empty() || own.empty() || own.find(" (deleted)") != std::string::npos) {
    log_.info("cgroups: no cgroup v2 hierarchy for this process; process trees are killed by group");
    return;
  }
  // Our path is relative to the hierarchy's root; the mount may show only a subtree of it.
  if (mount.root != "/") {
    if (own.rfind(mount.root, 0) != 0) {
      log_.info("cgroups: own cgroup {} is outside the mounted subtree {}", own, mount.root);
      return;
    }
    own = own.substr(mount.root.size());
  }
  std::string base = mount.point + (own == "/" ? "" : own);
  // The only reliable test of "may we create and populate cgroups here": try it.
  std::string probe = base + "/lifehook-" + std::to_string(::getpid()) + "-probe";
  if (::mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) {
    log_.info("cgroups: cannot create cgroups under {} ({}); process trees are killed by group", base,
              std::strerror(errno));
    return;
  }
  ::rmdir(probe.c_str());
  base_ = base;
  remove_stale();
  log_.debug("cgroups: process trees go under {}", base_);
}

// Removes empty lifehook cgroups left by processes that no longer exist (a crash, or a member
// that took too long to die).
void CgroupManager::remove_stale() {
  DIR* d = ::opendir(base_.c_str());
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind("lifehook-", 0) != 0) continue;
    int pid = std::atoi(name.c_str() + 9);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno == EPERM) continue;  // its owner still lives
    ::rmdir((base_ + "/" + name).c_str());                // fails harmlessly when populated
  }
  ::closedir(d);
}

bool CgroupManager::make(std::string_view purpose, std::string& path, UniqueFd& dir) {
  std::string name = "lifehook-" + std::to_string(::getpid()) + "-" + std::to_string(next_++);
  if (!purpose.empty()) {
    name += '-';
    for (char c : purpose.substr(0, 32)) name += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  }
  path = base_ + "/" + name;
  if (::mkdir(path.c_str(), 0755) != 0) {
    log_.warn("cgroups: cannot create {}: {}", path, std::strerror(errno));
    return false;
  }
  dir.reset(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    log_.warn("cgroups: cannot open {}: {}", path, std::strerror(errno));
    ::rmdir(path.c_str());
    return false;
  }
  return true;
}

std::unique_ptr<Cgroup> CgroupManager::create(std::string_view purpose) {
  std::string path;
  UniqueFd dir;
  if (!available() || !make(purpose, path, dir)) return nullptr;
  return std::make_unique<Cgroup>(std::move(path), std::move(dir));
}

std::unique_ptr<Cgroup> CgroupManager::create_pooled(std::string_view purpose) {
  if (!available()) return nullptr;
  std::string path;
  UniqueFd dir;
  if (!pool_->take(path, dir) && !make(purpose, path, dir)) return nullptr;
  return std::make_unique<Cgroup>(std::move(path), std::move(dir), pool_);
}

}  // namespace lifehook
