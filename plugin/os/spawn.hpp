// Process creation that is safe inside someone else's (multithreaded, maybe Go) process:
// vfork-style creation, and between fork and exec nothing but raw async-signal-safe system
// calls on memory prepared beforehand (no malloc, no locks, no logging). The child gets
// default signal dispositions and an empty signal mask, its own session (so it leads a
// process group), only fds 0-2, and optionally enters a cgroup before exec.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fd.hpp"

namespace lifehook {

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in PATH (from env, else the host's)
  std::vector<std::string> env;   // the complete environment, "NAME=value"
  std::string working_dir;        // empty: the caller's
  int stdin_fd = -1;              // -1: /dev/null
  int stdout_fd = -1;             // -1: /dev/null
  int stderr_fd = -1;             // -1: /dev/null
  int cgroup_fd = -1;             // directory fd of a cgroup v2 to enter before exec; -1: stay
};

struct Spawned {
  int pid = -1;
  UniqueFd pidfd;  // pidfd of the child; empty only where pidfd_open is unavailable
  // The init of the pid namespace the child was started in, when that is not ours (container exec):
  // it adopts the tree's orphans, so a walk of the tree looks below it (proc_tree.hpp TreeScope).
  int reaper = -1;
  uint64_t reaper_start_time = 0;
};

// Throws SpawnError when the child could not exec (errno from the child: ENOENT, EACCES, ...),
// Error(LIFEHOOK_E_SYSTEM) for other failures.
Spawned spawn_process(const SpawnSpec& spec);

class SpawnError : public std::exception {
 public:
  SpawnError(int err, std::string message) : err_(err), message_(std::move(message)) {}
  int err() const { return err_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  int err_;
  std::string message_;
};

// The host's environment as "NAME=value" strings (a snapshot).
std::vector<std::string> host_environment();

}  // namespace lifehook
