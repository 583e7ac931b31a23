// Shared by every child path between fork and exec (spawn.cpp, container_exec.cpp): raw system
// calls only, no allocation — async-signal-safe in a vfork-style child.
#pragma once

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace lifehook {

// Puts stdio[0..2] on fds 0..2. Sources that already sit on 0..2 are first moved out of the way,
// so no dup2 overwrites another source. The copies on 0..2 are not CLOEXEC. False on failure
// (errno set).
inline bool install_child_stdio(const int (&stdio)[3]) {
  int src[3] = {stdio[0], stdio[1], stdio[2]};
  for (int& fd : src) {
    if (fd < 3) {
      long moved = syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 3);
      if (moved < 0) return false;
      fd = static_cast<int>(moved);
    }
  }
  for (int i = 0; i < 3; ++i)
    if (syscall(SYS_dup2, src[i], i) < 0) return false;
  return true;
}

}  // namespace lifehook
