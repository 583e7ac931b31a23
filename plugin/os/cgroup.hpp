// Per-process-tree cgroups (cgroup v2): the only seal a process tree cannot escape (a
// descendant that calls setsid leaves the process group, not the cgroup). Created under the
// caller's own cgroup where that is writable; otherwise unavailable and callers fall back to
// process groups plus a descendant walk (docs/DESIGN.md).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "fd.hpp"

namespace spdlog {
class logger;
}

namespace lifehook {

class Cgroup {
 public:
  Cgroup(std::string path, UniqueFd dir);
  ~Cgroup();  // kills what is left and removes the directory
  const std::string& path() const { return path_; }
  int dir_fd() const { return dir_.get(); }
  // SIGKILL every process in the cgroup (cgroup.kill, or freeze + kill + thaw on old kernels).
  void kill_all();
  bool populated() const;

 private:
  std::string path_;
  UniqueFd dir_;
};

class CgroupManager {
 public:
  explicit CgroupManager(spdlog::logger& log);
  bool available() const { return !base_.empty(); }
  const std::string& base() const { return base_; }
  // A fresh cgroup for one process tree, or nullptr when cgroups are unavailable.
  std::unique_ptr<Cgroup> create(std::string_view purpose);

 private:
  spdlog::logger& log_;
  std::string base_;
};

}  // namespace lifehook
