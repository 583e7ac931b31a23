// The built-in `process` driver: each container is a local process (its own session and
// process group, plus its own cgroup v2 where one can be made) running command + args with the
// container's env and workingDir. `image` is ignored. Exits are watched through pidfds on the
// event loop (plugin/os/child.hpp), never with SIGCHLD or waitpid(-1). When a container's main
// process exits, whatever it left behind is killed, as a container's PID namespace would.
// Its containers die with their host (they are its children, in its cgroups, killed by the
// cgroup guard when it dies): its pods cannot be adopted (Driver::can_adopt is false, and
// options.podStateDir is refused for it); the oci driver's can.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <mutex>

#include "../context.hpp"
#include "../errors.hpp"
#include "../os/cgroup.hpp"
#include "../os/child.hpp"
#include "../os/spawn.hpp"
#include "driver.hpp"

namespace lifehook::drivers {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The children by (container name, instance), shared with the exit callbacks through a weak
// reference so a callback that arrives after the driver is gone does nothing. Two instances of
// one container coexist for a moment at a restart (the exited one until its removal runs).
using ChildKey = std::pair<std::string, InstanceId>;
struct Children {
  std::mutex mu;
  std::map<ChildKey, std::shared_ptr<Child>> by_key;
  std::shared_ptr<Child> find(const ChildKey& key) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = by_key.find(key);
    return it == by_key.end() ? nullptr : it->second;
  }
};

using Clock = std::chrono::steady_clock;

// SIGKILL is asynchronous: the members of a killed cgroup leave it a moment later. Calls report
// once the cgroup is empty (or at `limit`), polling on the strand without blocking it.
void report_when_empty(Strand strand, std::shared_ptr<Child> child, Cgroup* cg, Clock::time_point limit,
                       std::function<void()> report) {
  if (!cg || Clock::now() >= limit || !cg->populated()) {
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
      info.pid = spawned.pid;
      child = std::make_shared<Child>(strand_, std::move(spawned), std::move(cgroup));
    } catch (const std::exception& e) {
      done(std::nullopt, e.what());
      return;
    }
    {
      std::lock_guard<std::mutex> lock(children_->mu);
      children_->by_key[{c.name, instance}] = child;
    }
    info.exec_mode = "host";
    // Report the start before arming the exit watch so the engine sees start, then exit.
    done(info, {});
    // Armed on the child's strand, like every other use of the Child. The Cgroup is owned by
    // the Child, which the exit callback keeps alive while it uses the raw pointer.
    boost::asio::post(strand_, [this_strand = strand_, child, cg, weak = std::weak_ptr<Children>(children_),
                                sink = on_exit_, name = c.name, instance] {
      child->async_wait([this_strand, child_weak = std::weak_ptr<Child>(child), cg, weak, sink, name,
                         instance](const ExitStatus& st) {
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
                          [sink, name, instance, code, sig] { sink(name, instance, code, sig); });
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
               if (it != children.by_key.end() && it->second == child) children.by_key.erase(it);
             });
  }

  bool reports_exits() const override { return true; }

 private:
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
