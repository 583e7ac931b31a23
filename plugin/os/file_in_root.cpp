#include "file_in_root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fd.hpp"

namespace lifehook {

namespace {

std::string errno_text(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof buf);  // GNU variant: returns the text
}

int open_in_root(int root, const std::string& path) {
  constexpr int kFlags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  struct open_how how {};
  how.flags = kFlags;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = ::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EINTR || errno == EAGAIN) continue;  // EAGAIN: a rename raced the lookup
    if (errno != ENOSYS) return -1;
    break;
  }
  // No openat2: relative to root, never following a last-component symlink.
  // (Built from the first non-slash character on, not erased in place: GCC 12's -Wrestrict misreads
  // the in-place erase at -O2.)
  size_t start = path.find_first_not_of('/');
  std::string rel = start == std::string::npos ? std::string(".") : path.substr(start);
  return ::openat(root, rel.c_str(), kFlags | O_NOFOLLOW);
}

}  // namespace

FileTail read_file_tail_in_root(const std::string& root, const std::string& path, size_t max) {
  FileTail out;
  auto fail = [&](int err, std::string why) {
    out.err = err;
    out.why = std::move(why);
    return out;
  };
  UniqueFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return fail(errno, errno_text(errno));
  UniqueFd fd(open_in_root(dir.get(), path));
  if (!fd) return fail(errno, errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(errno, errno_text(errno));
  if (!S_ISREG(st.st_mode)) return fail(EINVAL, "not a regular file");
  out.mtime = st.st_mtim;
  off_t size = st.st_size;
  off_t from = size > static_cast<off_t>(max) ? size - static_cast<off_t>(max) : 0;
  out.text.resize(static_cast<size_t>(size - from));
  size_t got = 0;
  while (got < out.text.size()) {
    ssize_t n = ::pread(fd.get(), out.text.data() + got, out.text.size() - got, from + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno, errno_text(errno));
    if (n == 0) break;  // shortened meanwhile
    got += static_cast<size_t>(n);
  }
  out.text.resize(got);
  return out;
}

}  // namespace lifehook
