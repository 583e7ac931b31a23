// Per-process-tree cgroups (cgroup v2): the only seal a process tree cannot escape (a
// descendant that calls setsid leaves the process group, not the cgroup).
//
// Where: the cgroup2 mount is found in /proc/self/mountinfo (/sys/fs/cgroup on pure v2 hosts,
// /sys/fs/cgroup/unified on hybrid ones) and our own cgroup in the "0::<path>" line of
// /proc/self/cgroup; each tree gets "<mount><own>/lifehook-<pid>-<n>-<purpose>". Usable when we
// may create directories there (root, or a delegated subtree); checked once by creating and
// removing a probe cgroup.
//
// Fallback (not root, read-only cgroupfs, no cgroup2 mount): available() is false, create()
// returns nullptr and Child (child.hpp) kills a tree by its process group plus a walk of /proc:
// every process in the child's session or process group or descending from it is stopped with
// SIGSTOP (so it cannot fork any more), the walk repeats until it finds nothing new, then all
// are SIGKILLed. What the fallback cannot catch: a descendant that called setsid and whose
// parent had already died (it was reparented before we looked). That is why cgroups are used
// whenever they can be.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fd.hpp"

namespace spdlog {
class logger;
}

namespace lifehook {

class CgroupPool;

class Cgroup {
 public:
  // With a pool, the destructor gives the cgroup back to it instead of removing it.
  Cgroup(std::string path, UniqueFd dir, std::shared_ptr<CgroupPool> pool = nullptr);
  ~Cgroup();  // kills what is left, then gives the cgroup back to its pool or removes the directory
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  const std::string& path() const { return path_; }
  int dir_fd() const { return dir_.get(); }
  // SIGKILL every process in the cgroup (cgroup.kill, or freeze + kill + thaw on old kernels).
  void kill_all();
  bool populated() const;
  // The pids in cgroup.procs right now.
  std::vector<int> pids() const;

 private:
  friend class CgroupPool;
  // Waits (bounded) for the members to leave, then removes the directory.
  static void remove(const std::string& path, UniqueFd dir);

  std::string path_;
  UniqueFd dir_;
  std::shared_ptr<CgroupPool> pool_;
  bool killed_ = false;      // cgroup.kill written: never reused (kill_all)
  bool empty_seen_ = false;  // kill_all found no member (after the spawn): it stays empty
};

// Emptied cgroups kept for the next process tree: a host exec takes one instead of a mkdir and
// gives it back instead of an rmdir (each ~40-50 µs in cgroupfs, on every exec). Only a cgroup
// that was never killed is reused (see Cgroup::kill_all); one whose tree had to be killed is
// retired: removed by a later take or retire once its members have left (their SIGKILL is
// asynchronous), so no loop thread waits for them to die. Bounded; what does not fit, and
// everything left when the pool goes (after the last Cgroup and ~CgroupManager, once the loop
// threads are joined), is removed as before, waiting for its members.
class CgroupPool {
 public:
  explicit CgroupPool(size_t capacity) : capacity_(capacity) {}
  ~CgroupPool();
  CgroupPool(const CgroupPool&) = delete;
  CgroupPool& operator=(const CgroupPool&) = delete;
  // An empty pooled cgroup, or false.
  bool take(std::string& path, UniqueFd& dir);
  // Keeps an empty, never killed cgroup for reuse, or false when the pool is full.
  bool give(std::string& path, UniqueFd& dir);
  // Keeps a killed cgroup until its members have left, then removes it; false when full.
  bool retire(std::string& path, UniqueFd& dir);
  size_t size();  // for tests

 private:
  struct Entry {
    std::string path;
    UniqueFd dir;
  };
  void sweep_retired();  // under mu_

  const size_t capacity_;
  std::mutex mu_;
  std::vector<Entry> entries_;
  std::vector<Entry> retired_;
};

class CgroupManager {
 public:
  explicit CgroupManager(spdlog::logger& log);
  bool available() const { return !base_.empty(); }
  const std::string& base() const { return base_; }
  // A fresh cgroup for one process tree, or nullptr when cgroups are unavailable (or creating
  // this one failed; logged).
  std::unique_ptr<Cgroup> create(std::string_view purpose);
  // The same for a short-lived tree (a handler's exec): taken from the pool of emptied cgroups
  // when it has one, and given back to it when released.
  std::unique_ptr<Cgroup> create_pooled(std::string_view purpose);
  CgroupPool& pool() { return *pool_; }

 private:
  void remove_stale();
  // mkdir + open of a new cgroup; false (logged) when either fails.
  bool make(std::string_view purpose, std::string& path, UniqueFd& dir);

  spdlog::logger& log_;
  std::string base_;
  std::atomic<uint64_t> next_{1};
  // Sized for the handlers in flight at once on a busy node (32 in the benchmarks); each entry
  // holds one directory descriptor.
  std::shared_ptr<CgroupPool> pool_ = std::make_shared<CgroupPool>(32);
};

}  // namespace lifehook
