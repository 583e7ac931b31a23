#include "netns_socket.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/statfs.h>

#include <cerrno>
#include <system_error>
#include <thread>

#include "../common/errors.hpp"

namespace lifehook {

UniqueFd open_socket_in_netns(const std::string& netns_path, int domain, int type, int protocol) {
  // Opened on the caller's (a loop) thread: a path that does not exist fails without a thread at
  // all. O_NONBLOCK: a FIFO given as the namespace would otherwise block this open() — and the
  // loop thread — until some writer came; O_NOCTTY for a terminal. Whatever opened must then be
  // a namespace file (nsfs), before setns() is even tried.
  UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!ns) throw_system("target.netns: cannot enter " + netns_path, errno);
  struct statfs fs {};
  if (::fstatfs(ns.get(), &fs) != 0) throw_system("target.netns: cannot enter " + netns_path, errno);
  if (static_cast<unsigned long>(fs.f_type) != NSFS_MAGIC)
    throw_invalid("target.netns", "is not a namespace file (such as /proc/<pid>/ns/net or /run/netns/<name>)",
                  netns_path);
  int fd = -1;
  int err = 0;
  bool entered = false;
  try {
    std::thread([&] {
      // setns(CLONE_NEWNET) refuses (EINVAL) a file that is not a network namespace.
      if (::setns(ns.get(), CLONE_NEWNET) != 0) {
        err = errno;
        return;
      }
      entered = true;
      fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
      if (fd < 0) err = errno;
    }).join();
  } catch (const std::system_error& e) {  // no thread could be created (EAGAIN under a thread limit)
    throw_system("target.netns: cannot enter " + netns_path + " (helper thread)", e.code().value());
  }
  if (!entered) throw_system("target.netns: cannot enter " + netns_path, err);
  if (fd < 0) throw_system("target.netns: socket in " + netns_path, err);
  return UniqueFd(fd);
}

}  // namespace lifehook
