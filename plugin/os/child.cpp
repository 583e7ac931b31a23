// Watching, signalling, killing and reaping one child (see child.hpp). Exactly one owner reaps
// each pid (pitfalls B4): this class, with waitid on the pidfd (or on the pid, which cannot be
// reused while the child is our unreaped zombie). Our children are clone children (exit signal
// 0, spawn.cpp), hence __WALL.
#include "child.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <thread>

#include "pidfd_exit.hpp"
#include "proc_tree.hpp"

namespace lifehook {

namespace {

// The kernel keeps the exit status in the pidfd even when the process was reaped by someone else
// (the kernel's auto-reap for a host with SIGCHLD ignored, or a host calling waitpid(-1, __WALL)).
bool exit_status_from_pidfd(int pidfd, ExitStatus& out) {
  std::optional<int> status = pidfd_wait_status(pidfd);
  if (!status) return false;
  if (WIFEXITED(*status)) {
    out.exit_code = WEXITSTATUS(*status);
  } else if (WIFSIGNALED(*status)) {
    out.signal = WTERMSIG(*status);
  } else {
    return false;
  }
  return true;
}

constexpr auto kMaxPollInterval = std::chrono::milliseconds(20);
constexpr int kReapLimitMs = 5000;  // a SIGKILLed process that does not die by then is stuck in the kernel
}  // namespace

Child::Child(Strand strand, Spawned spawned, std::unique_ptr<Cgroup> cgroup)
    : strand_(strand),
      pid_(spawned.pid),
      cgroup_(std::move(cgroup)),
      watch_(strand),
      poll_(strand),
      scope_{spawned.reaper, spawned.reaper_start_time} {
  if (spawned.pidfd) {
    boost::system::error_code ec;
    watch_.assign(spawned.pidfd.get(), ec);
    if (!ec) pidfd_ = spawned.pidfd.release();  // else: closed with `spawned`, we poll instead
  }
}

Child::~Child() {
  if (!exited_) {
    kill_tree();
    // Bounded blocking reap: the process was just SIGKILLed, this takes microseconds to
    // milliseconds, but must never hang the thread that drops the last reference.
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};
      while (::poll(&p, 1, kReapLimitMs) < 0 && errno == EINTR) {
      }
      try_reap(false);
    } else {
      for (int waited = 0; !try_reap(false) && waited < kReapLimitMs; ++waited)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  } else if (!cgroup_ && !members_.empty()) {
    kill_tree();  // leftovers of the tree; a cgroup kills its own leftovers when destroyed
  }
  boost::system::error_code ec;
  watch_.close(ec);
  poll_.cancel();
}

void Child::async_wait(std::function<void(const ExitStatus&)> fn) {
  waiter_ = std::move(fn);
  if (exited_) {
    boost::asio::post(strand_, [w = weak_from_this()] {
      if (auto self = w.lock()) self->deliver();
    });
    return;
  }
  arm();
}

void Child::arm() {
  if (armed_ || exited_) return;
  armed_ = true;
  auto w = weak_from_this();
  if (pidfd_ >= 0) {
    // A pidfd becomes readable when the process exits.
    watch_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [w](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (!self || ec == boost::asio::error::operation_aborted) return;
      self->armed_ = false;
      self->on_ready();
    });
  } else {
    // No pidfd (kernel < 5.3 or a seccomp filter): poll with a short, growing interval.
    poll_.expires_after(poll_interval_);
    poll_interval_ =
        std::min(poll_interval_ * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kMaxPollInterval));
    poll_.async_wait([w](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (!self || ec) return;
      self->armed_ = false;
      self->on_ready();
    });
  }
}

void Child::on_ready() {
  if (exited_ || try_reap(false)) return deliver();
  arm();  // readable but not reapable is spurious (pitfalls B6): wait again
}

bool Child::try_reap(bool block) {
  if (exited_) return true;
  int flags = WEXITED | __WALL | (block ? 0 : WNOHANG);
  auto wait_once = [&](int extra, siginfo_t& info) {
    info = {};
    int r;
    do {
      if (pidfd_ >= 0) {
        r = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info, flags | extra);
        if (r < 0 && errno == EINVAL) r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, flags | extra);  // 5.3
      } else {
        r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, flags | extra);
      }
    } while (r < 0 && errno == EINTR);
    return r;
  };

  siginfo_t info;
  if (!cgroup_) {
    // Without a cgroup the tree is known only by walking /proc: look while the exited leader is
    // still a zombie (its pid, session and group id cannot be reused yet), then reap.
    int r = wait_once(WNOWAIT, info);
    if (r == 0 && info.si_pid == 0) return false;
    if (r == 0) collect_tree(pid_, false, members_, scope_);
  }
  int r = wait_once(0, info);
  if (r == 0 && info.si_pid == 0) return false;
  exited_ = true;
  if (r < 0) {
    // ECHILD: reaped by someone else. The pidfd may still know how it ended.
    status_.known = pidfd_ >= 0 && exit_status_from_pidfd(pidfd_, status_);
  } else if (info.si_code == CLD_EXITED) {
    status_.exit_code = info.si_status;
  } else {
    status_.signal = info.si_status;  // CLD_KILLED, CLD_DUMPED
  }
  boost::system::error_code ec;
  watch_.cancel(ec);
  poll_.cancel();
  return true;
}

void Child::deliver() {
  if (!waiter_) return;
  auto fn = std::move(waiter_);
  waiter_ = nullptr;
  fn(status_);
}

void Child::signal(int signo) {
  if (exited_) return;  // never signal a pid after reaping it (pitfalls X8)
  if (pidfd_ >= 0 && ::syscall(SYS_pidfd_send_signal, pidfd_, signo, nullptr, 0) == 0) return;
  if (pidfd_ < 0 || errno == ENOSYS || errno == EPERM) ::kill(pid_, signo);  // our unreaped child: pid is safe
}

void Child::kill_tree() {
  if (cgroup_) {
    cgroup_->kill_all();
    return;
  }
  // After the exit, the snapshot taken then (try_reap) holds every process that could be left.
  if (exited_ && members_.empty()) return;
  kill_tree_by_walk(pid_, exited_, members_, scope_);
  if (exited_) members_.clear();
}

}  // namespace lifehook
