// Reading a file a container wrote, from outside the container: the path is the container's
// (absolute, or relative to `root`), resolved as if `root` were "/" — openat2(2) with
// RESOLVE_IN_ROOT keeps symlinks, ".." and absolute links inside `root`, and RESOLVE_NO_MAGICLINKS
// refuses /proc/self/fd-style links. Kernels without openat2 (before 5.6) get openat(2) with
// O_NOFOLLOW: then a symlink as the last component is refused (ELOOP). Always O_NONBLOCK (a FIFO
// never blocks the open), O_CLOEXEC and O_NOCTTY; only a regular file is read, at most its last
// `max` bytes (the kubelet's tail.ReadAtMost).
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <optional>
#include <string>

namespace lifehook {

struct FileTail {
  int err = 0;               // 0, or why it could not be read (ENOENT: there is no such file)
  std::string why;           // err as text ("is a FIFO, not a regular file" for a special file)
  std::string text;          // the last `max` bytes
  struct timespec mtime {};  // when it was last written
};

FileTail read_file_tail_in_root(const std::string& root, const std::string& path, size_t max);

}  // namespace lifehook
