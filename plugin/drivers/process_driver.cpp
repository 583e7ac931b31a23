// The built-in `process` driver: each container is a local process (its own session and
// process group, plus its own cgroup v2 where one can be made) running command + args with the
// container's env and workingDir. `image` is ignored. Exits are watched through pidfds on the
// event loop (plugin/os/child.hpp), never with SIGCHLD or waitpid(-1). When a container's main
// process exits, whatever it left behind is killed, as a container's PID namespace would.
// Its containers die with their host (they are its children, in its cgroups, killed by the
// cgroup guard when it dies): its pods cannot be adopted (Driver::can_adopt is false, and
// options.podStateDir is refused for it); the oci driver's can.
// Termination messages: terminationMessagePath is a host path (a relative one is relative to the
// container's workingDir, else to the host process's directory), and only a file written since
// the instance started counts (no container of its own gives a fresh file per start, as the
// kubelet's bind mount does; the default /dev/termination-log is shared by whatever runs on the
// host). Output goes to /dev/null, except with terminationMessagePolicy FallbackToLogsOnError:
// then stdout and stderr are a pipe whose last 2048 bytes are kept for the message.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "../common/errors.hpp"
#include "../context/context.hpp"
#include "../os/cgroup.hpp"
#include "../os/child.hpp"
#include "../os/file_in_root.hpp"
#include "../os/spawn.hpp"
#include "../pod/driver.hpp"

namespace lifehook::drivers {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The end of a container's output (stdout and stderr through one pipe), for
// FallbackToLogsOnError: read on the driver's strand as it comes, the last kKeep bytes kept.
// tail() may be called from any thread.
class OutputTail : public std::enable_shared_from_this<OutputTail> {
 public:
  static constexpr size_t kKeep = pod::kMaxContainerTerminationMessageLogLength;
  OutputTail(Strand strand, UniqueFd read_end) : pipe_(strand, read_end.release()) {}
  // Reads until EOF or close(), on the strand.
  void start() {
    pipe_.async_read_some(boost::asio::buffer(buf_),
                          [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                            self->append(n);
                            if (!ec) self->start();
                          });
  }
  // On the strand: what the pipe holds now (the processes are gone: nothing more is coming but EOF).
  void drain() {
    boost::system::error_code ec;
    pipe_.non_blocking(true, ec);
    while (!ec) append(pipe_.read_some(boost::asio::buffer(buf_), ec));
  }
  void close() {
    boost::system::error_code ec;
    pipe_.close(ec);
  }
  std::string tail(size_t max) {
    std::lock_guard<std::mutex> lock(mu_);
    return kept_.size() > max ? kept_.substr(kept_.size() - max) : kept_;
  }

 private:
  void append(size_t n) {
    if (n == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    kept_.append(buf_.data(), n);
    if (kept_.size() > 2 * kKeep) kept_.erase(0, kept_.size() - kKeep);
  }
  boost::asio::posix::stream_descriptor pipe_;
  std::array<char, 4096> buf_{};
  std::mutex mu_;
  std::string kept_;
};

// What the termination message of an instance needs: when it started (a message file older than
// that is a previous run's) and its output.
struct InstanceExtra {
  struct timespec started {};
  std::shared_ptr<OutputTail> output;
};

// The children by (container name, instance), shared with the exit callbacks through a weak
// reference so a callback that arrives after the driver is gone does nothing. Two instances of
// one container coexist for a moment at a restart (the exited one until its removal runs).
using ChildKey = std::pair<std::string, InstanceId>;
struct Children {
  std::mutex mu;
  std::map<ChildKey, std::shared_ptr<Child>> by_key;
  std::map<ChildKey, InstanceExtra> extra;
  std::shared_ptr<Child> find(const ChildKey& key) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = by_key.find(key);
    return it == by_key.end() ? nullptr : it->second;
  }
};

using Clock = std::chrono::steady_clock;

// SIGKILL is asynchronous: the members of a killed cgroup leave it a moment later. Calls report
// once the cgroup is empty (or at `limit`), polling on the strand without blocking it. `cg` is
// owned by the Child; the poll holds the Child only weakly, so the driver's destructor is what
// releases it (its pidfd and its cgroup) and nothing queued on the strand outlives the driver
// holding a descriptor.
void report_when_empty(Strand strand, std::weak_ptr<Child> child, Cgroup* cg, Clock::time_point limit,
                       std::function<void()> report) {
  auto alive = child.lock();
  if (!alive || !cg || Clock::now() >= limit || !cg->populated()) {
    report();
    return;
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(strand, std::chrono::milliseconds(1));
  timer->async_wait([timer, strand, child, cg, limit, report](const boost::system::error_code&) {
    report_when_empty(strand, child, cg, limit, report);
  });
}

class ProcessDriver final : public Driver {
 public:
  explicit ProcessDriver(DriverEnv env)
      : ctx_(env.ctx),
        pod_(env.pod),
        on_exit_(std::move(env.on_exit)),
        strand_(ctx_.make_strand()),
        children_(std::make_shared<Children>()) {}

  ~ProcessDriver() override {
    std::map<ChildKey, std::shared_ptr<Child>> left;
    {
      std::lock_guard<std::mutex> lock(children_->mu);
      left.swap(children_->by_key);
    }
    for (auto& [key, child] : left) child->kill_tree();
    // Queued work holds a Child weakly, but a kill or an exit being handled on another loop
    // thread holds it for a moment: let go of it there first (microseconds; bounded), so the
    // Child, its pidfd and its cgroup go here, before the pod's destroy returns.
    auto until = Clock::now() + std::chrono::milliseconds(100);
    for (auto& [key, child] : left)
      while (child.use_count() > 1 && Clock::now() < until) std::this_thread::yield();
    std::map<ChildKey, InstanceExtra> extra;
    {
      std::lock_guard<std::mutex> lock(children_->mu);
      extra.swap(children_->extra);
    }
    // Closed on the strand, where they are read; the queued reads hold them until then.
    boost::asio::post(strand_, [extra = std::move(extra)] {
      for (auto& [key, e] : extra)
        if (e.output) e.output->close();
    });
    // ~Child reaps (blocking, bounded: everything was just SIGKILLed).
  }

  const char* name() const override { return "process"; }

  void validate(const pod::PodSpec& pod) const override {
    auto check = [](const pod::ContainerSpec& c) {
      if (c.command.empty())
        throw_invalid(c.path + ".command",
                      "is required: the process driver runs commands, not images" +
                          (c.image.empty() ? std::string() : " (image \"" + c.image + "\" is ignored)"),
                      c.raw.contains("command") ? json_value_text(c.raw["command"]) : std::string("nothing"));
      if (c.command[0].empty()) throw_invalid(c.path + ".command[0]", "must not be empty");
    };
    for (const auto& c : pod.init_containers) check(c);
    for (const auto& c : pod.containers) check(c);
  }

  void start(const pod::ContainerSpec& c, InstanceId instance, StartDone done) override {
    SpawnSpec spec;
    spec.argv = c.command;
    spec.argv.insert(spec.argv.end(), c.args.begin(), c.args.end());
    bool has_path = false, has_hostname = false;
    for (const auto& e : c.env) {
      has_path |= e.name == "PATH";
      has_hostname |= e.name == "HOSTNAME";
    }
    if (!has_path) spec.env.push_back(std::string("PATH=") + kDefaultPath);
    if (!has_hostname) spec.env.push_back("HOSTNAME=" + pod_.name);
    for (const auto& e : c.env) spec.env.push_back(e.name + "=" + e.value);
    spec.working_dir = c.working_dir;
    InstanceExtra extra;
    ::clock_gettime(CLOCK_REALTIME_COARSE, &extra.started);  // the clock file times come from
    UniqueFd output_write;
    if (c.termination_message_policy == pod::TerminationMessagePolicy::FallbackToLogsOnError) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0)
        return done(std::nullopt, "process driver: pipe2: " + std::string(strerror(errno)));
      output_write = UniqueFd(fds[1]);
      extra.output = std::make_shared<OutputTail>(strand_, UniqueFd(fds[0]));
      spec.stdout_fd = spec.stderr_fd = output_write.get();
    }

    std::unique_ptr<Cgroup> cgroup;
    Cgroup* cg = nullptr;  // owned by the Child below
    std::shared_ptr<Child> child;
    StartInfo info;
    try {
      cgroup = ctx_.env().cgroups.create("pod-" + pod_.name + "-" + c.name);
      if (cgroup) {
        cg = cgroup.get();
        spec.cgroup_fd = cgroup->dir_fd();
        info.cgroup = cgroup->path();
      }
      Spawned spawned = spawn_process(spec);
      output_write.reset();  // the container holds it now: EOF once its processes are gone
      info.pid = spawned.pid;
      child = std::make_shared<Child>(strand_, std::move(spawned), std::move(cgroup));
    } catch (const std::exception& e) {
      done(std::nullopt, e.what());
      return;
    }
    {
      std::lock_guard<std::mutex> lock(children_->mu);
      children_->by_key[{c.name, instance}] = child;
      children_->extra[{c.name, instance}] = extra;
    }
    if (extra.output) boost::asio::post(strand_, [output = extra.output] { output->start(); });
    info.exec_mode = "host";
    // Report the start before arming the exit watch so the engine sees start, then exit.
    done(info, {});
    // Armed on the child's strand, like every other use of the Child. The Cgroup is owned by
    // the Child, which the exit callback keeps alive while it uses the raw pointer. Queued work
    // holds the Child weakly: its one owner is `children_` (see report_when_empty).
    boost::asio::post(strand_, [this_strand = strand_, child_weak = std::weak_ptr<Child>(child), cg,
                                weak = std::weak_ptr<Children>(children_), sink = on_exit_, name = c.name, instance,
                                output = extra.output] {
      auto child = child_weak.lock();
      if (!child) return;
      child->async_wait([this_strand, child_weak = std::weak_ptr<Child>(child), cg, weak, sink, name, instance,
                         output](const ExitStatus& st) {
        auto children = weak.lock();
        auto ch = child_weak.lock();
        if (!children || !ch) return;
        int code = st.exit_code, sig = st.signal;
        if (!st.known)
          code = -1, sig = 0;
        else if (sig > 0)
          code = 128 + sig;
        // Whatever the main process left behind goes with it (a container's PID namespace
        // would), and the exit is reported once the cgroup is empty: no process of the
        // container outlives its reported exit.
        ch->kill_tree();
        report_when_empty(this_strand, ch, cg, Clock::now() + std::chrono::milliseconds(500),
                          [sink, name, instance, code, sig, output] {
                            if (output) output->drain();  // all of it, before the message is read
                            sink(name, instance, code, sig);
                          });
      });
    });
  }

  // Child is used on its own strand only: signals, kills and removals are posted there (in
  // order), so they never race with the exit being reaped. Each acts on the instance it names.
  void signal(const std::string& container, InstanceId instance, int signo) override {
    on_child({container, instance}, [signo](Children&, const std::shared_ptr<Child>& child) { child->signal(signo); });
  }

  void kill(const std::string& container, InstanceId instance) override {
    on_child({container, instance}, [](Children&, const std::shared_ptr<Child>& child) { child->kill_tree(); });
  }

  void remove(const std::string& container, InstanceId instance) override {
    on_child({container, instance},
             [key = ChildKey{container, instance}](Children& children, const std::shared_ptr<Child>& child) {
               child->kill_tree();  // leftovers only: the main process has exited
               std::lock_guard<std::mutex> lock(children.mu);
               auto it = children.by_key.find(key);
               if (it != children.by_key.end() && it->second == child) {
                 children.by_key.erase(it);
                 auto e = children.extra.find(key);
                 if (e != children.extra.end()) {
                   if (e->second.output) e->second.output->close();
                   children.extra.erase(e);
                 }
               }
             });
  }

  pod::MessageFile termination_message_file(const pod::ContainerSpec& c, InstanceId instance, size_t max) override {
    pod::MessageFile f;
    InstanceExtra extra;
    if (!find_extra({c.name, instance}, extra)) return f;
    f.path = c.termination_message_path;
    if (f.path.front() != '/') {
      std::string base = c.working_dir;
      if (base.empty()) {
        char cwd[4096];
        if (!::getcwd(cwd, sizeof cwd)) return f;
        base = cwd;
      }
      f.path = base + "/" + f.path;
    }
    FileTail t = read_file_tail_in_root("/", f.path, max);
    if (t.err == ENOENT || t.err == ENOTDIR) return f;
    if (t.err != 0) {
      f.state = pod::MessageFile::State::Error;
      f.text = t.why;
      return f;
    }
    // Written before this instance started: a previous run's (or another program's) message.
    if (t.mtime.tv_sec < extra.started.tv_sec ||
        (t.mtime.tv_sec == extra.started.tv_sec && t.mtime.tv_nsec < extra.started.tv_nsec))
      return f;
    f.state = pod::MessageFile::State::Read;
    f.text = std::move(t.text);
    return f;
  }

  std::optional<std::string> log_tail(const pod::ContainerSpec& c, InstanceId instance, size_t max) override {
    InstanceExtra extra;
    if (!find_extra({c.name, instance}, extra) || !extra.output) return std::nullopt;
    return extra.output->tail(max);
  }

  bool reports_exits() const override { return true; }

 private:
  bool find_extra(const ChildKey& key, InstanceExtra& out) {
    std::lock_guard<std::mutex> lock(children_->mu);
    auto it = children_->extra.find(key);
    if (it == children_->extra.end()) return false;
    out = it->second;
    return true;
  }

  template <class F>
  void on_child(ChildKey key, F f) {
    boost::asio::post(strand_, [weak = std::weak_ptr<Children>(children_), key = std::move(key), f] {
      auto children = weak.lock();
      if (!children) return;
      if (auto child = children->find(key)) f(*children, child);
    });
  }

  Context& ctx_;
  const pod::PodSpec& pod_;
  ExitSink on_exit_;
  Strand strand_;
  std::shared_ptr<Children> children_;
};

}  // namespace

std::unique_ptr<Driver> make_process_driver(DriverEnv env) { return std::make_unique<ProcessDriver>(std::move(env)); }

}  // namespace lifehook::drivers
