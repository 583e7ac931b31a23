// Reading and writing a file that must be a regular file, without ever blocking and within a
// size limit. A FIFO without a writer would block open(2) forever, a symlink to /dev/zero would
// be read until the allocator gives up: where lifehook expects a file (a bundle's config.json, a
// manifest, a runtime's state file, a /proc file) it opens with O_NONBLOCK (no wait for a FIFO's
// writer), checks with fstat that it is a regular file, and reads at most `max_bytes`. Every
// descriptor is O_CLOEXEC: we live in a host that may fork and exec at any moment, and its child
// must not inherit our files (std::ifstream/std::ofstream cannot ask for that). Header-only: the
// library, the CLI and the OCI hook share it (the programs link only the library's C ABI).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lifehook {

// Why a file could not be read or written; what() is "<path>: <why>". errno_value() is the
// system call's errno when one failed (ENOENT: there is no such file), else 0.
class FileReadError : public std::runtime_error {
 public:
  FileReadError(const std::string& path, std::string why, int err = 0)
      : std::runtime_error(path + ": " + why), why_(std::move(why)), errno_(err) {}
  const std::string& why() const { return why_; }
  int errno_value() const { return errno_; }

 private:
  std::string why_;
  int errno_;
};

namespace regular_file_detail {
inline std::string errno_text(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof buf);  // GNU variant: returns the text
}
inline const char* kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}
}  // namespace regular_file_detail

// Reads everything from `fd` (which the caller owns), at most `max_bytes`; `name` is for messages.
inline std::string read_bounded(int fd, const std::string& name, size_t max_bytes) {
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FileReadError(name, "cannot read: " + regular_file_detail::errno_text(errno));
    if (n == 0) return text;
    if (text.size() + static_cast<size_t>(n) > max_bytes)
      throw FileReadError(name, "is larger than " + std::to_string(max_bytes) + " bytes (the limit)");
    text.append(buf, static_cast<size_t>(n));
  }
}

namespace regular_file_detail {
// `path` opened with `flags` (O_CLOEXEC | O_NOCTTY | O_NONBLOCK added) and checked to be a
// regular file; the descriptor, which the caller closes, and its size.
inline int open_regular(const std::string& path, int flags, mode_t mode, off_t& size) {
  int fd = ::open(path.c_str(), flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode);
  if (fd < 0) {
    int err = errno;
    throw FileReadError(path, "cannot open: " + errno_text(err), err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw FileReadError(path, "cannot stat: " + errno_text(err), err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FileReadError(path, std::string("is ") + kind_of(st.st_mode) + ", not a regular file");
  }
  size = st.st_size;
  return fd;
}
struct Closer {
  int fd;
  ~Closer() { ::close(fd); }
};
}  // namespace regular_file_detail

// The whole content of the regular file `path`; FileReadError when it cannot be opened, is not a
// regular file (FIFO, device, directory, socket) or is larger than `max_bytes`. /proc files are
// regular files of size 0: they are read to their end, within `max_bytes` all the same.
inline std::string read_regular_file(const std::string& path, size_t max_bytes) {
  off_t size = 0;
  regular_file_detail::Closer closer{regular_file_detail::open_regular(path, O_RDONLY, 0, size)};
  if (static_cast<unsigned long long>(size) > max_bytes)
    throw FileReadError(path, "is larger than " + std::to_string(max_bytes) + " bytes (the limit; it has " +
                                  std::to_string(size) + ")");
  return read_bounded(closer.fd, path, max_bytes);  // the size may change while we read: bounded anyway
}

// The last `max_bytes` (at most) of the regular file `path`, however large it is (a log that a
// container writes to); FileReadError as read_regular_file.
inline std::string read_regular_file_tail(const std::string& path, size_t max_bytes) {
  off_t size = 0;
  regular_file_detail::Closer closer{regular_file_detail::open_regular(path, O_RDONLY, 0, size)};
  off_t from = size > static_cast<off_t>(max_bytes) ? size - static_cast<off_t>(max_bytes) : 0;
  std::string text(static_cast<size_t>(size - from), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::pread(closer.fd, text.data() + got, text.size() - got, from + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FileReadError(path, "cannot read: " + regular_file_detail::errno_text(errno), errno);
    if (n == 0) break;  // shortened meanwhile
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

// Replaces the content of the regular file `path` (created with `mode` when it does not exist)
// with `text`. Never follows a symlink at `path` and never waits for a FIFO's reader (refused
// like any file that is not a regular one); FileReadError on failure.
inline void write_regular_file(const std::string& path, std::string_view text, mode_t mode = 0666) {
  off_t size = 0;
  regular_file_detail::Closer closer{
      regular_file_detail::open_regular(path, O_WRONLY | O_CREAT | O_NOFOLLOW, mode, size)};
  if (size > 0 && ::ftruncate(closer.fd, 0) != 0)
    throw FileReadError(path, "cannot truncate: " + regular_file_detail::errno_text(errno), errno);
  for (size_t off = 0; off < text.size();) {
    ssize_t n = ::write(closer.fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw FileReadError(path, "cannot write: " + regular_file_detail::errno_text(errno), errno);
    off += static_cast<size_t>(n);
  }
}

}  // namespace lifehook
