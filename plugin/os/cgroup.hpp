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
#include <string>
#include <string_view>
#include <vector>

#include "fd.hpp"

namespace spdlog {
class logger;
}

namespace lifehook {

class Cgroup {
 public:
  Cgroup(std::string path, UniqueFd dir);
  ~Cgroup();  // kills what is left and removes the directory
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
  std::string path_;
  UniqueFd dir_;
};

class CgroupManager {
 public:
  explicit CgroupManager(spdlog::logger& log);
  bool available() const { return !base_.empty(); }
  const std::string& base() const { return base_; }
  // A fresh cgroup for one process tree, or nullptr when cgroups are unavailable (or creating
  // this one failed; logged).
  std::unique_ptr<Cgroup> create(std::string_view purpose);

 private:
  void remove_stale();

  spdlog::logger& log_;
  std::string base_;
  std::atomic<uint64_t> next_{1};
};

}  // namespace lifehook
