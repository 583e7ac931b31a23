#include "state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "../common/regular_file.hpp"
#include "fd.hpp"

namespace lifehook {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& step, int err) {
  throw FileReadError(path, step + ": " + regular_file_detail::errno_text(err), err);
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes)
    throw FileReadError(path, "the new content has " + std::to_string(text.size()) + " bytes, more than the limit (" +
                                  std::to_string(max_bytes) + ")");
  // One writer per file (a pod's strand, a container's monitor): a fixed temporary name, so a
  // writer killed half-way leaves one stale file at most, truncated by the next write.
  std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600));
  if (!fd) fail(tmp, "cannot create", errno);
  for (size_t off = 0; off < text.size();) {
    ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      fail(tmp, "cannot write", err);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(tmp, "cannot fsync", err);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "cannot rename " + tmp + " to it", err);
  }
  UniqueFd dir(::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) fail(dir_of(path), "cannot open the directory", errno);
  if (::fsync(dir.get()) != 0) fail(dir_of(path), "cannot fsync the directory", errno);
}

std::optional<std::string> read_file_if_exists(const std::string& path, size_t max_bytes) {
  try {
    return read_regular_file(path, max_bytes);
  } catch (const FileReadError& e) {
    if (e.errno_value() == ENOENT) return std::nullopt;
    throw;
  }
}

}  // namespace lifehook
