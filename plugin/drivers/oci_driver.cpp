// The `oci` driver (issue 5): every container of the pod is a real OCI container started by an
// OCI runtime (runc by default) from a bundle generated out of the Kubernetes container
// (oci_bundle.cpp), all joining one pod sandbox (oci_sandbox.cpp: network namespace with
// loopback up, IPC, UTS).
//
// Supervision as containerd-shim and conmon do it for the kubelet: each container runs under a
// foreground `<runtime> run` whose parent is a lifehook-monitor (monitor/lifehook-monitor.c,
// oci_monitor.hpp), the monitor being our child (watched through its pidfd like any other) in a
// session of its own. The container outlives us if we die (kill -9, a crash): the monitor waits
// on, and records the runtime's exit in <bundle>/exit.json (atomically) for whoever adopts the
// pod later (lifehook_pod_adopt). While we live, the monitor's exit tells when the container
// ended, and how it ended comes from a pidfd of the container's init, which keeps the wait status
// after `run` reaped it (Linux 6.15+): exact exit code or signal. Older kernels, and exits
// learnt from the record, get runc's exit code, where "exit 128+n" and "killed by signal n" look
// the same.
// Stop: `<runtime> kill <id> <signal>`; kill: `<runtime> kill <id> KILL`; remove and destruction:
// `<runtime> delete -f <id>`, the bundle and the sandbox are removed: nothing is left in
// `runc list` or in the state directories.
// Exec hooks run inside the container (execMode "container" by default: the library's own
// runc-exec-parity exec, see plugin/os/container_exec.hpp).
#include "oci_driver.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "../../handlers/exec_target.hpp"
#include "../common/bounded_json.hpp"
#include "../common/errors.hpp"
#include "../common/regular_file.hpp"
#include "../context/context.hpp"
#include "../os/child.hpp"
#include "../os/file_in_root.hpp"
#include "../os/pidfd_exit.hpp"
#include "../os/proc_tree.hpp"
#include "../os/runc_state.hpp"
#include "../os/spawn.hpp"
#include "../pod/driver.hpp"
#include "oci_bundle.hpp"
#include "oci_monitor.hpp"
#include "oci_sandbox.hpp"

namespace lifehook::drivers {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::atomic<uint64_t> g_pod_counter{0};
constexpr const char* kExitRecord = "exit.json";  // in the bundle, written by the monitor
std::atomic<uint64_t> g_instance_counter{0};      // container ids are unique in the runtime root

std::string sanitize(const std::string& s) {
  std::string out;
  for (char ch : s) out += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') ? ch : '-';
  return out.substr(0, 40);
}

// The end of a container's log (the runtime's errors are last); the container's own output goes
// there too, so the file may be of any size: only its tail is read.
std::string tail_of_file(const std::string& path, size_t max = 2000) {
  std::string text;
  try {
    text = read_regular_file_tail(path, max + 256);  // room for the trailing blanks dropped below
  } catch (const FileReadError&) {
    return {};
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.size() > max ? text.substr(text.size() - max) : text;
}

// The message of the last error the runtime logged to `path` (its --log, --log-format json: one
// {"level": ..., "msg": ...} per line, the same from runc and crun), "" when there is none. crun
// writes nothing else that tells a failed start from a program that ran and exited at once.
std::string runtime_log_error(const std::string& path) {
  std::string text = tail_of_file(path, 8192), last;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    try {
      nlohmann::json entry = parse_bounded_json(std::string_view(text).substr(begin, end - begin));
      const auto level = entry.find("level"), msg = entry.find("msg");
      if (level != entry.end() && *level == "error" && msg != entry.end() && msg->is_string()) last = *msg;
    } catch (const JsonInputError&) {
      // a line cut by the tail, or not JSON: not an entry
    }
    begin = end + 1;
  }
  return last;
}

// The container init's own wait status, read from its pidfd once `<runtime> run` (its parent) has
// reaped it: runc's exit code folds "killed by signal n" and "exit 128+n" into one number. False
// when the kernel cannot tell (older than 6.15) or we never got a pidfd: runc's code is used then.
bool init_wait_status(int pidfd, int& code, int& sig) {
  std::optional<int> status = pidfd_wait_status(pidfd);
  if (!status) return false;
  if (WIFEXITED(*status)) {
    code = WEXITSTATUS(*status), sig = 0;
  } else if (WIFSIGNALED(*status)) {
    sig = WTERMSIG(*status), code = 128 + sig;
  } else {
    return false;
  }
  return true;
}

struct Instance {
  std::string id;
  std::string bundle;
  std::shared_ptr<Child> run;  // the lifehook-monitor of the foreground `<runtime> run`
  UniqueFd monitor_pidfd;      // readable once the monitor has exited (its exit record written)
  std::unique_ptr<boost::asio::steady_timer> poll;
  int pid = -1;
  UniqueFd init_pidfd;  // the container's init, for its exact wait status (see init_wait_status)
  // Adopted from an earlier host (no `run` of ours): its monitor, watched through a pidfd.
  std::unique_ptr<boost::asio::posix::stream_descriptor> watch;
  int monitor_pid = -1;
  uint64_t monitor_start_time = 0;
  bool started = false;
  bool exited = false;  // the runtime run process has exited (status below)
  ExitStatus status;
};

// Instances by (container name, engine instance): at a restart the exited instance and the next
// one coexist until the removal of the first has run.
using InstanceKey = std::pair<std::string, InstanceId>;

struct State {
  std::mutex mu;
  std::map<InstanceKey, std::shared_ptr<Instance>> by_key;
  std::set<std::shared_ptr<Child>> helpers;  // `<runtime> kill` processes until they are reaped
};

class Core : public std::enable_shared_from_this<Core> {
 public:
  Core(DriverEnv env, OciDriverOptions options)
      : ctx_(env.ctx),
        pod_(env.pod),
        on_exit_(std::move(env.on_exit)),
        options_(std::move(options)),
        strand_(ctx_.make_strand()),
        state_(std::make_shared<State>()) {
    // A pod that may be adopted keeps its bundles and sandbox in its own state directory, where
    // the host that adopts it finds them; otherwise under the driver's stateDir.
    if (!options_.pod_state_dir.empty())
      pod_dir_ = options_.pod_state_dir + "/oci";
    else
      pod_dir_ = options_.state + "/" + sanitize(pod_.name) + "-" + std::to_string(::getpid()) + "-" +
                 std::to_string(g_pod_counter++);
    monitor_ = find_monitor(options_.monitor);
  }

  // Deletes every container (synchronously: the runtime kills what is left) and the sandbox.
  // The Child objects are released on the strand, where they are used; callbacks still queued
  // hold the Core, so nothing runs on freed memory whatever thread destroys the driver.
  void shutdown() {
    closing_ = true;
    std::map<InstanceKey, std::shared_ptr<Instance>> left;
    std::set<std::shared_ptr<Child>> helpers;
    {
      std::lock_guard lock(state_->mu);
      left.swap(state_->by_key);
      helpers.swap(state_->helpers);
    }
    for (auto& [key, inst] : left) delete_container(*inst);
    {
      std::lock_guard lock(sandbox_mu_);
      sandbox_.reset();
    }
    if (touched_) {
      // A remove() already on the strand may be deleting a bundle right now: two remove_all()
      // racing on one tree make one of them fail half-way (ENOENT) and leave the pod dir behind.
      // Only a driver that started or adopted something: one made to validate a pod (or whose
      // pod failed to come up) leaves a pod directory that may be another host's alone.
      std::lock_guard lock(fs_mu_);
      std::error_code ec;
      fs::remove_all(pod_dir_, ec);
    }
    boost::asio::post(strand_, [left = std::move(left), helpers = std::move(helpers)] {});
  }

  void start(const pod::ContainerSpec& c, InstanceId instance, StartDone done) {
    InstanceKey key{c.name, instance};
    auto inst = std::make_shared<Instance>();
    touched_ = true;
    // Unique in the runtime root, also beside the containers of an earlier host that had our pid.
    do {
      inst->id = "lh-" + sanitize(pod_.name) + "-" + sanitize(c.name) + "-" + std::to_string(::getpid()) + "-" +
                 std::to_string(g_instance_counter++);
      inst->bundle = pod_dir_ + "/" + inst->id;
    } while (::access((options_.root + "/" + inst->id).c_str(), F_OK) == 0 ||
             ::access(inst->bundle.c_str(), F_OK) == 0);
    try {
      std::lock_guard lock(sandbox_mu_);
      // An adopted pod's sandbox may outlive every container (all of them ended meanwhile).
      if (!sandbox_ && options_.network == "pod" && !options_.pod_state_dir.empty())
        sandbox_ = PodSandbox::existing(pod_dir_ + "/sandbox");
      if (!sandbox_ && (options_.network == "pod"))
        sandbox_ = std::make_unique<PodSandbox>(pod_dir_ + "/sandbox", pod_.name);
      SandboxPaths paths;
      if (sandbox_) paths = {sandbox_->net(), sandbox_->ipc(), sandbox_->uts()};
      write_oci_bundle(inst->bundle, pod_, c, options_, paths);
      UniqueFd log(::open((inst->bundle + "/container.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
      if (!log) throw_system("oci driver: open container.log", errno);
      SpawnSpec spec;
      spec.argv = monitor_argv(monitor_, inst->bundle + "/" + kExitRecord,
                               {options_.runtime, "--root", options_.root, "--log", inst->bundle + "/runtime.log",
                                "--log-format", "json", "run", "--bundle", inst->bundle, inst->id});
      spec.env = host_environment();
      spec.stdout_fd = log.get();
      spec.stderr_fd = log.get();
      Spawned spawned = spawn_process(spec);
      if (spawned.pidfd) inst->monitor_pidfd = UniqueFd(::fcntl(spawned.pidfd.get(), F_DUPFD_CLOEXEC, 0));
      inst->run = std::make_shared<Child>(strand_, std::move(spawned), nullptr);
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(fs_mu_);
        std::error_code ec;
        fs::remove_all(inst->bundle, ec);
      }
      done(std::nullopt, e.what());
      return;
    }
    {
      std::lock_guard lock(state_->mu);
      state_->by_key[key] = inst;
    }
    inst->poll = std::make_unique<boost::asio::steady_timer>(strand_);
    // Watched from the start: a container may be done before we ever see it running.
    inst->run->async_wait(
        [weak = weak_from_this(), weak_inst = std::weak_ptr<Instance>(inst), key](const ExitStatus& st) {
          auto self = weak.lock();
          auto i = weak_inst.lock();
          if (!self || !i) return;
          i->exited = true;
          i->status = st;
          if (i->started && !self->closing_) self->report_exit(key, *i);
        });
    auto deadline = std::chrono::steady_clock::now() + 30s;
    boost::asio::post(strand_, [self = shared_from_this(), inst, key, done = std::move(done), deadline]() mutable {
      self->wait_running(inst, key, std::move(done), deadline);
    });
  }

  void signal(const std::string& container, InstanceId instance, int signo) {
    on_instance({container, instance}, [signo](Core& self, const std::shared_ptr<Instance>& inst) {
      self.runtime_async({"kill", inst->id, std::to_string(signo)});
    });
  }

  void kill(const std::string& container, InstanceId instance) {
    on_instance({container, instance}, [](Core& self, const std::shared_ptr<Instance>& inst) {
      self.runtime_async({"kill", inst->id, "KILL"});
    });
  }

  void remove(const std::string& container, InstanceId instance) {
    on_instance({container, instance},
                [key = InstanceKey{container, instance}](Core& self, const std::shared_ptr<Instance>& inst) {
                  self.delete_container(*inst);
                  self.forget(key, inst);
                });
  }

  // An instance a previous host started (its StartInfo::record): watched through its monitor,
  // which is not our child (a pidfd works all the same), and whose exit record tells how the
  // container ended, also when that happened while no host was there.
  std::optional<StartInfo> adopt(const pod::ContainerSpec& c, InstanceId instance, const json& record,
                                 std::string& error) {
    const json* id = field(record, "id");
    const json* mpid = field(record, "monitorPid");
    const json* mstart = field(record, "monitorStartTime");
    if (!id || !id->is_string() || id->get<std::string>().empty() ||
        sanitize(id->get<std::string>()) != id->get<std::string>() || !mpid || !mpid->is_number_integer() || !mstart ||
        !mstart->is_number_unsigned()) {
      error = "oci driver: the state of container " + c.name + " is not one the oci driver wrote";
      return std::nullopt;
    }
    InstanceKey key{c.name, instance};
    touched_ = true;
    {
      std::lock_guard lock(sandbox_mu_);
      if (!sandbox_ && options_.network == "pod") sandbox_ = PodSandbox::existing(pod_dir_ + "/sandbox");
    }
    auto inst = std::make_shared<Instance>();
    inst->id = id->get<std::string>();
    inst->bundle = pod_dir_ + "/" + inst->id;
    inst->started = true;
    if (const json* p = field(record, "initPid"); p && p->is_number_integer()) inst->pid = p->get<int>();
    inst->poll = std::make_unique<boost::asio::steady_timer>(strand_);
    adopted_ids_.insert(inst->id);
    int pid = mpid->get<int>();
    inst->monitor_pid = pid;
    inst->monitor_start_time = mstart->get<uint64_t>();
    // The monitor that started it, if it still runs: same pid and the same start time (a reused
    // pid is another process). Gone: the container ended, its record says how.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (pidfd && read_process(pid).start_time != mstart->get<uint64_t>()) pidfd.reset();
    {
      std::lock_guard lock(state_->mu);
      state_->by_key[key] = inst;
    }
    if (pidfd) {
      inst->monitor_pidfd = UniqueFd(::fcntl(pidfd.get(), F_DUPFD_CLOEXEC, 0));
      inst->watch = std::make_unique<boost::asio::posix::stream_descriptor>(strand_, pidfd.release());
      inst->watch->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                              [weak = weak_from_this(), weak_inst = std::weak_ptr<Instance>(inst),
                               key](const boost::system::error_code& ec) {
                                auto self = weak.lock();
                                auto i = weak_inst.lock();
                                if (ec || !self || !i || self->closing_) return;
                                self->report_adopted_exit(key, *i);
                              });
    } else {
      boost::asio::post(strand_, [self = shared_from_this(), inst, key] {
        if (!self->closing_) self->report_adopted_exit(key, *inst);
      });
    }
    return start_info(*inst);
  }

  // Whatever an earlier host left in the pod's directory that no adopted instance holds (a
  // container it was still starting when it died): deleted.
  void adoption_done() {
    touched_ = true;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(pod_dir_, ec)) {
      std::string name = e.path().filename().string();
      if (name == "sandbox" || !e.is_directory() || adopted_ids_.count(name)) continue;
      Instance left;
      left.id = name;
      left.bundle = e.path().string();
      delete_container(left);
    }
  }

  // The bundle of an instance still known (not removed); empty otherwise.
  std::string bundle_of(const InstanceKey& key) {
    std::lock_guard lock(state_->mu);
    auto it = state_->by_key.find(key);
    return it == state_->by_key.end() ? std::string() : it->second->bundle;
  }

  // The pod sandbox's network namespace file, for the network handlers ("" with network: host).
  std::string sandbox_netns() {
    std::lock_guard lock(sandbox_mu_);
    return sandbox_ ? sandbox_->net() : std::string();
  }
  // The runtime and state root its containers live in (exec hooks in runtime mode find them there).
  const OciDriverOptions& options() const { return options_; }

 private:
  // True once the container's init has exec'd the user's program. runc removes the exec fifo just
  // before `runc init` execs, so a program that cannot be exec'd would otherwise look started for an
  // instant; a process that is gone already is left to the exit path (inst->exited).
  // crun has no `init`: the container's init is a fork of `crun run` (run_pid) until it execs, so it
  // still runs the runtime's executable (same /proc/<pid>/exe) where runc's would say "runc init".
  // Plain read(2): the process may exit mid-read (ESRCH), and libstdc++'s filebuf throws on that
  // — an exception that escaped this poll ended it, and the start was never reported.
  // The `<runtime> run` under a monitor: the monitor's one child (its pid while it has none).
  static int runtime_pid(int monitor) {
    std::string path = "/proc/" + std::to_string(monitor) + "/task/" + std::to_string(monitor) + "/children";
    std::string text;
    try {
      text = read_regular_file(path, 4096);
    } catch (const FileReadError&) {
      return monitor;
    }
    int pid = std::atoi(text.c_str());
    return pid > 0 ? pid : monitor;
  }

  static bool init_has_execed(int pid, int run_pid) {
    UniqueFd fd(::open(("/proc/" + std::to_string(pid) + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    char buf[64];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) < 0 && errno == EINTR) {
    }
    if (n <= 0) return false;
    static const std::string runc_init("runc\0init", 9);
    if (std::string(buf, static_cast<size_t>(n)).compare(0, runc_init.size(), runc_init) == 0) return false;
    struct stat init_exe {
    }, run_exe{};
    if (::stat(("/proc/" + std::to_string(pid) + "/exe").c_str(), &init_exe) != 0) return false;
    return ::stat(("/proc/" + std::to_string(run_pid) + "/exe").c_str(), &run_exe) != 0 ||
           init_exe.st_dev != run_exe.st_dev || init_exe.st_ino != run_exe.st_ino;
  }

  // The container counts as started once the runtime has recorded its init pid, removed the
  // exec fifo (runc's sign that `start` has happened) and the init has exec'd the program.
  void wait_running(const std::shared_ptr<Instance>& inst, const InstanceKey& key, StartDone done,
                    std::chrono::steady_clock::time_point deadline) {
    if (closing_) return done(std::nullopt, "oci driver: the pod is being destroyed");
    if (inst->exited) {
      std::string error = runtime_log_error(inst->bundle + "/runtime.log");
      std::string log = tail_of_file(inst->bundle + "/container.log");
      if (!error.empty() || log.find("level=error") != std::string::npos ||
          log.find("lifehook-monitor: ") != std::string::npos || inst->status.signal > 0) {
        delete_container(*inst);
        forget(key, inst);
        std::string why = error.empty() ? log : error;
        return done(std::nullopt, options_.runtime + " run " + inst->id + " failed" + (why.empty() ? "" : ": " + why));
      }
      // It ran and is already done (a short command): report the start, then the exit.
      inst->started = true;
      done(start_info(*inst), {});
      return report_exit(key, *inst);
    }
    std::string state_dir = options_.root + "/" + inst->id;
    int pid = -1;
    try {
      pid = oci_init_pid(state_dir).value_or(-1);  // -1: not recorded yet
    } catch (const FileReadError& e) {
      // Not the runtime's state (a FIFO, a device, a huge file): refused, never waited on here.
      delete_container(*inst);
      forget(key, inst);
      return done(std::nullopt, "oci driver: the state of " + options_.runtime + " container " + inst->id +
                                    " cannot be read: " + e.what());
    }
    if (pid > 0 && !inst->init_pidfd) {
      // From the first sight of it: `runc init` becomes the container's program (same process),
      // and it is not reaped before its parent (`run`, which we have not seen exit) waits for it.
      inst->pid = pid;
      inst->init_pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    }
    if (pid > 0 && ::access((state_dir + "/exec.fifo").c_str(), F_OK) != 0 &&
        init_has_execed(pid, runtime_pid(inst->run->pid()))) {
      inst->started = true;
      done(start_info(*inst), {});
      return;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      delete_container(*inst);
      forget(key, inst);
      return done(std::nullopt, options_.runtime + " run " + inst->id + ": not running after 30 s");
    }
    inst->poll->expires_after(2ms);
    inst->poll->async_wait([self = shared_from_this(), inst, key, done = std::move(done),
                            deadline](const boost::system::error_code& ec) mutable {
      if (ec) return done(std::nullopt, "oci driver: start of " + key.first + " canceled");
      self->wait_running(inst, key, std::move(done), deadline);
    });
  }

  StartInfo start_info(const Instance& inst) const {
    StartInfo info;
    if (inst.pid > 0) info.pid = inst.pid;
    info.pod_ip = "127.0.0.1";
    info.bundle = inst.bundle;
    info.exec_mode = options_.exec_mode;
    if (!options_.pod_state_dir.empty()) {
      int monitor = inst.run ? inst.run->pid() : inst.monitor_pid;
      info.record = {{"id", inst.id},
                     {"initPid", inst.pid},
                     {"monitorPid", monitor},
                     {"monitorStartTime", inst.run ? read_process(monitor).start_time : inst.monitor_start_time}};
    }
    return info;
  }

  // The exit of an adopted instance, from its monitor's record; none (the monitor was killed, or
  // the record lost): unknown, as the kubelet reports a container it cannot find.
  void report_adopted_exit(const InstanceKey& key, Instance& inst) {
    if (inst.exited) return;
    inst.exited = true;
    std::optional<ExitRecord> rec = read_exit_record(inst.bundle + "/" + kExitRecord);
    if (!rec) return on_exit_(key.first, key.second, -1, 0);
    inst.status.known = true;
    inst.status.exit_code = rec->signal > 0 ? -1 : rec->exit_code;
    inst.status.signal = rec->signal;
    report_exit(key, inst);
  }

  void report_exit(const InstanceKey& key, const Instance& inst) {
    const ExitStatus& st = inst.status;
    int code = st.exit_code, sig = st.signal;
    if (st.known && st.signal == 0 && init_wait_status(inst.init_pidfd.get(), code, sig))
      return on_exit_(key.first, key.second, code, sig);
    if (!st.known)
      code = -1, sig = 0;
    else if (sig > 0)
      code = 128 + sig;  // the runtime itself was killed
    else if (code > 128 && code < 128 + 65)
      sig = code - 128;  // runc: 128 + the container's signal
    on_exit_(key.first, key.second, code, sig);
  }

  void forget(const InstanceKey& key, const std::shared_ptr<Instance>& inst) {
    std::lock_guard lock(state_->mu);
    auto it = state_->by_key.find(key);
    if (it != state_->by_key.end() && it->second == inst) state_->by_key.erase(it);
  }

  // `<runtime> --root <root> args...`, watched on the strand until it exits (output discarded).
  void runtime_async(const std::vector<std::string>& args) {
    SpawnSpec spec;
    spec.argv = {options_.runtime, "--root", options_.root};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = host_environment();
    try {
      auto child = std::make_shared<Child>(strand_, spawn_process(spec), nullptr);
      {
        std::lock_guard lock(state_->mu);
        state_->helpers.insert(child);
      }
      std::weak_ptr<State> weak = state_;
      std::weak_ptr<Child> weak_child = child;
      child->async_wait([weak, weak_child](const ExitStatus&) {
        auto state = weak.lock();
        auto c = weak_child.lock();
        if (!state || !c) return;
        std::lock_guard lock(state->mu);
        state->helpers.erase(c);
      });
    } catch (const std::exception&) {
      // The runtime could not be started: the kill deadline (SIGKILL, delete) still ends the container.
    }
  }

  // `<runtime> delete -f <id>` (kills what is left), then the bundle goes. Blocking, bounded.
  void delete_container(Instance& inst) {
    SpawnSpec spec;
    spec.argv = {options_.runtime, "--root", options_.root, "delete", "-f", inst.id};
    spec.env = host_environment();
    try {
      Spawned s = spawn_process(spec);
      siginfo_t info;
      while (::waitid(P_PID, static_cast<id_t>(s.pid), &info, WEXITED | __WALL) < 0 && errno == EINTR) {
      }
    } catch (const std::exception&) {
    }
    // The container is gone: its monitor records the exit and ends within moments. Its record
    // is written into the bundle, which goes only after that.
    if (inst.monitor_pidfd) {
      pollfd p{inst.monitor_pidfd.get(), POLLIN, 0};
      while (::poll(&p, 1, 5000) < 0 && errno == EINTR) {
      }
    }
    if (inst.poll) inst.poll->cancel();
    std::lock_guard lock(fs_mu_);
    std::error_code ec;
    fs::remove_all(inst.bundle, ec);
  }

  // The instance the engine named, looked up now (it may be gone: then nothing happens); the work
  // runs later on the strand.
  template <class F>
  void on_instance(const InstanceKey& key, F f) {
    std::shared_ptr<Instance> inst;
    {
      std::lock_guard lock(state_->mu);
      auto it = state_->by_key.find(key);
      if (it != state_->by_key.end()) inst = it->second;
    }
    if (!inst) return;
    boost::asio::post(strand_, [self = shared_from_this(), inst, f] {
      if (!self->closing_) f(*self, inst);
    });
  }

  Context& ctx_;
  const pod::PodSpec& pod_;
  ExitSink on_exit_;
  OciDriverOptions options_;
  Strand strand_;
  std::shared_ptr<State> state_;
  std::string pod_dir_;
  std::string monitor_;                // lifehook-monitor
  std::set<std::string> adopted_ids_;  // runtime ids of the instances taken over from an earlier host
  std::mutex sandbox_mu_;
  std::unique_ptr<PodSandbox> sandbox_;
  std::mutex fs_mu_;  // one remove_all() at a time under pod_dir_
  std::atomic<bool> closing_{false};
  std::atomic<bool> touched_{false};  // started or adopted a container: the pod directory is ours
};

class OciDriver final : public Driver {
 public:
  OciDriver(DriverEnv env, OciDriverOptions options)
      : core_(std::make_shared<Core>(std::move(env), std::move(options))) {}
  ~OciDriver() override { core_->shutdown(); }

  const char* name() const override { return "oci"; }
  void validate(const pod::PodSpec& pod) const override {
    for (const auto& c : pod.init_containers) validate_oci_container(c);
    for (const auto& c : pod.containers) validate_oci_container(c);
  }
  std::vector<std::string> implemented_fields() const override {
    // plugin/drivers/oci_bundle.cpp (privileged: true is refused there)
    return {"securityContext.runAsUser",
            "securityContext.runAsGroup",
            "securityContext.capabilities",
            "securityContext.allowPrivilegeEscalation",
            "securityContext.readOnlyRootFilesystem",
            "securityContext.privileged"};
  }
  void start(const pod::ContainerSpec& c, InstanceId instance, StartDone done) override {
    core_->start(c, instance, std::move(done));
  }
  void signal(const std::string& container, InstanceId instance, int signo) override {
    core_->signal(container, instance, signo);
  }
  void kill(const std::string& container, InstanceId instance) override { core_->kill(container, instance); }
  void remove(const std::string& container, InstanceId instance) override { core_->remove(container, instance); }
  bool reports_exits() const override { return true; }
  bool can_adopt() const override { return true; }
  std::optional<StartInfo> adopt(const pod::ContainerSpec& c, InstanceId instance, const json& record,
                                 std::string& error) override {
    return core_->adopt(c, instance, record, error);
  }
  void adoption_done() override { core_->adoption_done(); }
  // The bundle's termination-log, bind-mounted at terminationMessagePath (oci_bundle.cpp).
  pod::MessageFile termination_message_file(const pod::ContainerSpec& c, InstanceId instance, size_t max) override {
    pod::MessageFile f;
    std::string bundle = core_->bundle_of({c.name, instance});
    if (bundle.empty()) return f;
    f.path = bundle + "/" + kTerminationLogFile;
    FileTail t = read_file_tail_in_root(bundle, kTerminationLogFile, max);
    if (t.err == ENOENT) return f;
    f.state = t.err ? pod::MessageFile::State::Error : pod::MessageFile::State::Read;
    f.text = t.err ? t.why : std::move(t.text);
    return f;
  }
  // The container's output (and the runtime's): the bundle's container.log.
  std::optional<std::string> log_tail(const pod::ContainerSpec& c, InstanceId instance, size_t max) override {
    std::string bundle = core_->bundle_of({c.name, instance});
    if (bundle.empty()) return std::nullopt;
    FileTail t = read_file_tail_in_root(bundle, "container.log", max);
    if (t.err) return std::nullopt;
    return std::move(t.text);
  }
  void fill_target(const pod::ContainerSpec& c, const StartInfo& info, Target& t) const override {
    Driver::fill_target(c, info, t);
    t.pod_ip = "127.0.0.1";            // inside the pod's network namespace
    t.netns = core_->sandbox_netns();  // httpGet/tcpSocket connect from inside it
    // execMode runtime finds the container under this driver's runtime and state root.
    t.runtime = core_->options().runtime;
    t.runtime_root = core_->options().root;
  }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

std::unique_ptr<Driver> make_oci_driver(DriverEnv env, const json& options) {
  return std::make_unique<OciDriver>(std::move(env), parse_oci_driver_options(options));
}

}  // namespace lifehook::drivers
