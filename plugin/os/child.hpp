// A child process we created, watched through its pidfd on the event loop (no SIGCHLD, no
// waitpid(-1)): exit is reported when the process exits, not when its pipes close.
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "../../handlers/handler.hpp"
#include "cgroup.hpp"
#include "spawn.hpp"

namespace lifehook {

struct ExitStatus {
  int exit_code = -1;  // >= 0 when the process exited
  int signal = 0;      // > 0 when a signal terminated it
  bool known = true;   // false when someone else reaped it (a host calling waitpid(-1))
};

class Child : public std::enable_shared_from_this<Child> {
 public:
  Child(Strand strand, Spawned spawned, std::unique_ptr<Cgroup> cgroup);
  ~Child();  // a child still running is killed (tree) and reaped

  int pid() const { return pid_; }
  bool exited() const { return exited_; }
  const ExitStatus& status() const { return status_; }

  // Calls fn (on the strand) once the process has exited and been reaped. One waiter.
  void async_wait(std::function<void(const ExitStatus&)> fn);
  // Signal to the process itself (pidfd_send_signal), or to its whole process group.
  void signal(int signo);
  void signal_group(int signo);
  // SIGKILL the whole tree: the cgroup if it has one, else the process group and every
  // descendant found under it. Safe to call after exit (kills leftovers).
  void kill_tree();

 private:
  void arm();
  void reap();

  Strand strand_;
  int pid_;
  UniqueFd pidfd_;
  std::unique_ptr<Cgroup> cgroup_;
  boost::asio::posix::stream_descriptor watch_;
  boost::asio::steady_timer poll_;  // fallback when there is no pidfd
  std::function<void(const ExitStatus&)> waiter_;
  ExitStatus status_;
  bool exited_ = false;
};

}  // namespace lifehook
