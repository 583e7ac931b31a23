// The control files of a cgroup directory (cgroup.kill, cgroup.freeze, cgroup.procs,
// cgroup.events), opened relative to the directory's descriptor and O_CLOEXEC: a child the host
// forks meanwhile inherits none of them. One home for the cgroup trees (cgroup.cpp) and the
// guard that kills them when the host dies (cgroup_guard.cpp).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

namespace lifehook {

// Writes `value` to the control file `file` of the cgroup directory `dir`: 0, or the errno of
// what failed. Async-signal-safe (openat, write, close, strlen only): the guard, a clone of a
// possibly multithreaded host, calls it.
inline int write_cgroup_file(int dir, const char* file, const char* value) noexcept {
  int fd = ::openat(dir, file, O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return errno;
  ssize_t n = ::write(fd, value, std::strlen(value));
  int err = n < 0 ? errno : 0;
  ::close(fd);
  return err;
}

// At most this much of a control file is read: cgroup.procs of a cgroup with some 100 000
// members; the members past it are found in the next round of a kill.
inline constexpr size_t kMaxCgroupFileBytes = size_t{1} << 20;

// The content of the control file `file` of the cgroup directory `dir` ("" when it cannot be
// read), at most `max_bytes` of it, in whole lines: a pid cut in two would name another process.
inline std::string read_cgroup_file(int dir, const char* file, size_t max_bytes = kMaxCgroupFileBytes) {
  int fd = ::openat(dir, file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return {};
  std::string out;
  char buf[4096];
  while (out.size() < max_bytes) {
    ssize_t n = ::read(fd, buf, std::min(sizeof buf, max_bytes - out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (out.size() >= max_bytes) out.resize(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  return out;
}

}  // namespace lifehook
