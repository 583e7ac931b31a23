// exec: runs `command` (argv, no shell) on the host with the target's env and workingDir.
//
// Completion is the process's exit, seen through its pidfd — not EOF on its output: a background
// grandchild (`sh -c 'echo hi; sleep 600 &'`) keeps the pipes open (pitfalls K4). After the exit
// the pipes are drained for at most kDrain, then whatever is left of the process tree is killed:
// nothing a handler started survives it (its own cgroup where one can be made, else the process
// group and a walk of /proc; plugin/os/cgroup.hpp). Output is read on the strand the whole time
// and kept up to maxOutputBytes; the rest is read and discarded, so the child never blocks on a
// full pipe and a `yes` cannot grow our memory (K5). stdout then stderr, as the kubelet returns
// them. Timeout and cancel kill the tree, reap the process and report it (K3).
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <string.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>

#include "../plugin/common/errors.hpp"
#include "../plugin/common/utf8.hpp"
#include "../plugin/os/cgroup.hpp"
#include "../plugin/os/child.hpp"
#include "../plugin/os/spawn.hpp"
#include "exec_target.hpp"
#include "handler.hpp"

namespace lifehook {
namespace {

constexpr auto kDrain = std::chrono::milliseconds(100);
// After a stop's SIGKILL the exit normally arrives within milliseconds; a process stuck in the
// kernel must not hold the result back longer than this (the Child reaps it when released).
constexpr auto kStopGrace = std::chrono::milliseconds(1000);
constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string join_command(const std::vector<std::string>& argv) {
  std::string s;
  for (size_t i = 0; i < argv.size(); ++i) s += (i ? " " : "") + argv[i];
  return s;
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// The default PATH unless the target sets one, then the target's variables; a name given twice
// keeps its last value (as Go's os/exec, used by runc and the kubelet, does).
std::vector<std::string> build_environment(const std::vector<EnvVar>& vars) {
  std::vector<std::string> env;
  std::map<std::string, size_t> index;
  auto put = [&](const std::string& name, const std::string& value) {
    auto it = index.find(name);
    if (it != index.end()) {
      env[it->second] = name + "=" + value;
    } else {
      index.emplace(name, env.size());
      env.push_back(name + "=" + value);
    }
  };
  put("PATH", kDefaultPath + 5);
  for (const auto& v : vars) put(v.name, v.value);
  return env;
}

// One output pipe, read on the strand until EOF; keeps at most `cap` bytes.
struct Capture {
  explicit Capture(const Strand& strand) : pipe(strand) {}
  boost::asio::posix::stream_descriptor pipe;
  std::string data;
  bool eof = false;
  bool dropped = false;
  std::array<char, 16384> buf;

  void keep(const char* p, size_t n, size_t cap) {
    size_t room = data.size() < cap ? cap - data.size() : 0;
    if (n > room) dropped = true;
    data.append(p, std::min(n, room));
  }
};

class ExecRun final : public HandlerRun, public std::enable_shared_from_this<ExecRun> {
 public:
  ExecRun(RunEnv& env, Strand strand, const Request& req, Finish finish)
      : env_(env),
        strand_(strand),
        argv_(std::get<ExecSpec>(req.handler).command),
        target_(req.target),
        timeout_ms_(req.timeout_ms),
        out_(strand),
        err_(strand),
        timer_(strand),
        complete_(std::move(finish)) {}

  void start() override {
    try {
      launch();
    } catch (const SpawnError& e) {
      return complete_(Outcome::Error, "exec: command '" + join_command(argv_) + "' could not be started: " + e.what());
    } catch (const std::exception& e) {
      return complete_(Outcome::Error, "exec: command '" + join_command(argv_) + "': " + e.what());
    }
    read(out_);
    read(err_);
    child_->async_wait([self = shared_from_this()](const ExitStatus&) { self->on_exit(); });
  }

  void stop(Outcome why) override {
    if (complete_.done() || stopping_) return;
    stopping_ = true;
    why_ = why;
    if (!child_) return finish_stopped();
    child_->kill_tree();
    if (child_->exited()) return finish_stopped();
    // The exit (on_exit) finishes the run; the timer only guards against a process that does not die.
    timer_.expires_after(kStopGrace);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->finish_stopped();
    });
  }

 private:
  void launch() {
    UniqueFd out_read, out_write, err_read, err_write;
    make_pipe(out_read, out_write);
    make_pipe(err_read, err_write);

    SpawnSpec spec;
    spec.argv = argv_;
    spec.env = build_environment(target_.env);
    spec.working_dir = target_.working_dir;
    spec.stdout_fd = out_write.get();
    spec.stderr_fd = err_write.get();
    // Only a host process lives in a cgroup of its own: in the container and runtime modes it
    // lives in the container's, so a per-exec cgroup would only be made and removed again (a
    // mkdir and an rmdir in cgroupfs, ~100 µs of every exec; PERFORMANCE.md).
    std::unique_ptr<Cgroup> cgroup;
    if (effective_exec_mode(target_) == "host") cgroup = env_.cgroups.create_pooled("exec");
    spec.cgroup_fd = cgroup ? cgroup->dir_fd() : -1;
    Spawned spawned = launch_exec(target_, spec, cgroup, &warnings_);  // host, container or runtime mode
    // Our copies of the write ends must go now, or EOF could never come.
    out_write.reset();
    err_write.reset();
    child_ = std::make_shared<Child>(strand_, std::move(spawned), std::move(cgroup));
    out_.pipe.assign(out_read.release());
    err_.pipe.assign(err_read.release());
  }

  static void make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_system("exec: pipe2", errno);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    // Only our end is non-blocking; the child gets an ordinary blocking pipe.
    ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  }

  void read(Capture& c) {
    c.pipe.async_read_some(boost::asio::buffer(c.buf),
                           [self = shared_from_this(), &c](const boost::system::error_code& ec, size_t n) {
                             if (n > 0) c.keep(c.buf.data(), n, self->env_.options.max_output_bytes);
                             if (ec) {
                               c.eof = true;  // EOF, or closed by us
                               self->maybe_finish();
                               return;
                             }
                             self->read(c);
                           });
  }

  void on_exit() {
    if (stopping_) return finish_stopped();
    if (maybe_finish()) return;
    timer_.expires_after(kDrain);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->finish_exited();
    });
  }

  bool maybe_finish() {
    if (stopping_ || !child_ || !child_->exited() || !out_.eof || !err_.eof) return false;
    finish_exited();
    return true;
  }

  // After a stop or the drain: whatever is buffered in the pipes now is read, the rest dropped.
  void collect_rest() {
    for (Capture* c : {&out_, &err_}) {
      for (int i = 0; i < 64 && !c->eof && c->pipe.is_open(); ++i) {
        ssize_t n = ::read(c->pipe.native_handle(), c->buf.data(), c->buf.size());
        if (n <= 0) break;
        c->keep(c->buf.data(), static_cast<size_t>(n), env_.options.max_output_bytes);
      }
      boost::system::error_code ec;
      c->pipe.close(ec);
    }
  }

  void fill_output(Result& r) {
    size_t cap = env_.options.max_output_bytes;
    std::string all = out_.data.substr(0, cap);
    all += err_.data.substr(0, cap - all.size());
    bool truncated = out_.dropped || err_.dropped || out_.data.size() + err_.data.size() > cap;
    r.output = utf8_excerpt(all, CutTail::Drop);  // results are JSON; the cap may cut a character
    r.truncated = truncated;
    r.warnings = warnings_;
  }

  void fill_status(Result& r) {
    const ExitStatus& s = child_->status();
    if (!s.known) return;
    if (s.exit_code >= 0) r.exit_code = s.exit_code;
    if (s.signal > 0) r.signal = s.signal;
  }

  void finish_exited() {
    if (complete_.done()) return;
    timer_.cancel();
    child_->kill_tree();  // background leftovers: nothing survives a handler
    child_->release_cgroup();
    collect_rest();
    Result r;
    fill_output(r);
    fill_status(r);
    const ExitStatus& s = child_->status();
    std::string cmd = "command '" + join_command(argv_) + "'";
    if (!s.known) {
      r.outcome = Outcome::Error;
      r.message = cmd +
                  " exited, but its exit status is unavailable: the process was reaped by someone else (SIGCHLD "
                  "ignored by the host, or a waitpid(-1, __WALL))";
    } else if (s.exit_code == 0) {
      r.outcome = Outcome::Success;
      r.message = cmd + " exited with 0";
    } else {
      r.outcome = Outcome::Failure;
      r.message = s.signal > 0 ? cmd + " was terminated by " + signal_name(s.signal)
                               : cmd + " exited with " + std::to_string(s.exit_code);
      std::string first_line = err_.data.substr(0, err_.data.find('\n')).substr(0, 512);
      if (!first_line.empty()) r.message += ": " + utf8_excerpt(first_line, CutTail::Drop);
    }
    complete_(std::move(r));
  }

  void finish_stopped() {
    if (complete_.done()) return;
    timer_.cancel();
    if (child_) collect_rest();
    Result r;
    r.outcome = why_;
    std::string cmd = "command '" + join_command(argv_) + "'";
    r.message = why_ == Outcome::Timeout ? cmd + " timed out after " + std::to_string(timeout_ms_) + "ms"
                                         : cmd + " was canceled";
    if (child_) {
      fill_output(r);
      if (child_->exited()) fill_status(r);
    }
    complete_(std::move(r));
  }

  RunEnv& env_;
  Strand strand_;
  std::vector<std::string> argv_;
  Target target_;
  int64_t timeout_ms_;
  std::shared_ptr<Child> child_;
  Capture out_, err_;
  boost::asio::steady_timer timer_;  // drain after exit, or the grace after a stop
  Completion complete_;
  bool stopping_ = false;
  Outcome why_ = Outcome::Canceled;
  std::vector<std::string> warnings_;  // settings container mode could not apply here
};

}  // namespace

std::shared_ptr<HandlerRun> make_exec_run(RunEnv& env, Strand strand, const Request& req, Finish finish) {
  return std::make_shared<ExecRun>(env, std::move(strand), req, std::move(finish));
}

}  // namespace lifehook
