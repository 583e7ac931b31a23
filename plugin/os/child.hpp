// A child process we created, watched through its pidfd on the event loop (no SIGCHLD, no
// waitpid(-1)): exit is reported when the process exits, not when its pipes close.
#pragma once

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "../common/strand.hpp"
#include "cgroup.hpp"
#include "proc_tree.hpp"
#include "spawn.hpp"

namespace lifehook {

struct ExitStatus {
  int exit_code = -1;  // >= 0 when the process exited
  int signal = 0;      // > 0 when a signal terminated it
  // false when someone else reaped it (the kernel for a host ignoring SIGCHLD, a host calling
  // waitpid(-1, __WALL)) and the kernel is older than 6.15 (no exit status on the pidfd).
  bool known = true;
};

// Must be owned by a std::shared_ptr (its asynchronous waits hold only weak references, so
// dropping the last reference kills and reaps the process instead of leaking it).
class Child : public std::enable_shared_from_this<Child> {
 public:
  Child(Strand strand, Spawned spawned, std::unique_ptr<Cgroup> cgroup);
  ~Child();  // kills the tree (a child still running, and whatever is left of it) and reaps
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  int pid() const { return pid_; }
  bool exited() const { return exited_; }
  const ExitStatus& status() const { return status_; }
  bool has_cgroup() const { return cgroup_ != nullptr; }

  // Calls fn (on the strand) once the process has exited and been reaped. One waiter.
  void async_wait(std::function<void(const ExitStatus&)> fn);
  // Signal to the process itself (pidfd_send_signal).
  void signal(int signo);
  // SIGKILL the whole tree: the cgroup if it has one, else the process group and every
  // descendant found under it. Safe to call after exit (kills leftovers).
  void kill_tree();
  // Once the process has exited and kill_tree() has run: the cgroup goes now (back to its pool,
  // so the next exec can take it) instead of with the Child, which may live on a little longer.
  void release_cgroup() {
    if (exited_) cgroup_.reset();
  }

 private:
  void arm();
  void on_ready();
  bool try_reap(bool block);
  void deliver();

  Strand strand_;
  int pid_;
  int pidfd_ = -1;  // owned by watch_ (closed with it); -1 without pidfd support
  std::unique_ptr<Cgroup> cgroup_;
  boost::asio::posix::stream_descriptor watch_;
  boost::asio::steady_timer poll_;  // fallback when there is no pidfd
  std::chrono::milliseconds poll_interval_{1};
  std::function<void(const ExitStatus&)> waiter_;
  ExitStatus status_;
  bool exited_ = false;
  bool armed_ = false;
  // Without a cgroup: the tree members seen so far (pid -> start time), see proc_tree.hpp.
  std::map<int, uint64_t> members_;
  TreeScope scope_;  // where they can be
};

}  // namespace lifehook
