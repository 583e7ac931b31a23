// Reading a file that must be a regular file, without ever blocking and within a size limit.
// A FIFO without a writer would block open(2) forever, a symlink to /dev/zero would be read until
// the allocator gives up: where lifehook expects a file (a bundle's config.json, a manifest, a
// runtime's state file) it opens with O_NONBLOCK (no wait for a FIFO's writer), checks with
// fstat that it is a regular file, and reads at most `max_bytes`. Header-only: the library, the
// CLI and the OCI hook share it (the programs link only the library's C ABI).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace lifehook {

// Why a file could not be read; what() is "<path>: <why>".
class FileReadError : public std::runtime_error {
 public:
  FileReadError(const std::string& path, std::string why)
      : std::runtime_error(path + ": " + why), why_(std::move(why)) {}
  const std::string& why() const { return why_; }

 private:
  std::string why_;
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

// The whole content of the regular file `path`; FileReadError when it cannot be opened, is not a
// regular file (FIFO, device, directory, socket) or is larger than `max_bytes`.
inline std::string read_regular_file(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw FileReadError(path, "cannot open: " + regular_file_detail::errno_text(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw FileReadError(path, "cannot stat: " + regular_file_detail::errno_text(errno));
  if (!S_ISREG(st.st_mode))
    throw FileReadError(path, std::string("is ") + regular_file_detail::kind_of(st.st_mode) + ", not a regular file");
  if (static_cast<unsigned long long>(st.st_size) > max_bytes)
    throw FileReadError(path, "is larger than " + std::to_string(max_bytes) + " bytes (the limit; it has " +
                                  std::to_string(st.st_size) + ")");
  return read_bounded(fd, path, max_bytes);  // the size may change while we read: bounded anyway
}

}  // namespace lifehook
