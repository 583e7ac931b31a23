#include "pod.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <future>

#include "../common/json_document.hpp"
#include "../errors.hpp"

namespace lifehook::pod {

namespace {

// The kubelet's floor between the stop signal and SIGKILL (minimumGracePeriodInSeconds).
constexpr Millis kMinStopWindow{2000};
// How long after SIGKILL a driver may take to report the exit before the container counts as
// lost (a local process is reaped in milliseconds; runc's kill and delete in well under a second).
constexpr Millis kExitReportWindow{5000};
// Timeouts from this many ms on (about 290 years) mean "forever": adding them to a clock would overflow.
constexpr int64_t kForeverMs = int64_t{1} << 53;
// lifehook_pod_container_exited names no instance: it is about the current one.
constexpr drivers::InstanceId kCurrentInstance = 0;

// t + d, saturated at the clock's end (grace periods come from the API as int64 milliseconds).
Clock::time_point saturating_add(Clock::time_point t, Millis d) {
  auto room = std::chrono::duration_cast<Millis>(Clock::time_point::max() - t);
  return d >= room ? Clock::time_point::max() : t + d;
}

std::string hook_failure_message(const ContainerSpec& c, const HandlerSpec& h, const Result& r,
                                 const std::string& pod) {
  std::string who = " for Container \"" + c.name + "\" in Pod \"" + pod + "\" failed - error: " + r.message;
  if (const auto* e = std::get_if<ExecSpec>(&h)) {
    std::string cmd;
    for (const auto& a : e->command) cmd += (cmd.empty() ? "" : " ") + a;
    return "Exec lifecycle hook ([" + cmd + "])" + who + ", message: " + json(r.output.value_or("")).dump();
  }
  if (const auto* g = std::get_if<HttpGetSpec>(&h)) return "HTTP lifecycle hook (" + g->path + ")" + who;
  if (const auto* s = std::get_if<SleepSpec>(&h))
    return "Sleep lifecycle hook (" + std::to_string(s->milliseconds / 1000) + ")" + who;
  return "TCP lifecycle hook" + who;
}

}  // namespace

PodOptions parse_pod_options(const char* options_json) {
  PodOptions o;
  if (!options_json || !*options_json) return o;
  json j = parse_json_document(options_json, "options", "options");
  require_object(j, "options");
  o.raw = j;
  if (const json* d = field(j, "driver")) {
    if (!d->is_string()) throw_invalid("options.driver", "must be a string", json_value_text(*d));
    o.driver = d->get<std::string>();
  }
  auto ms = [&](const char* key, Millis dflt) {
    int64_t v = get_int(j, key, "options", dflt.count());
    if (v < 0 || v > int64_t{365} * 86400 * 1000)
      throw_invalid(std::string("options.") + key, "must be between 0 and 31536000000 ms", json_value_text(j[key]));
    return Millis{v};
  };
  o.backoff.initial = ms("backoffInitialMs", o.backoff.initial);
  o.backoff.max = ms("backoffMaxMs", o.backoff.max);
  o.backoff.reset = ms("backoffResetMs", o.backoff.reset);
  return o;
}

std::shared_ptr<Pod> Pod::create(Context& ctx, PodSpec spec, PodOptions options, DriverFactory make_driver) {
  std::shared_ptr<Pod> pod(new Pod(ctx, std::move(spec), std::move(options)));
  std::weak_ptr<Pod> weak = pod;
  drivers::DriverEnv env{
      ctx, pod->spec_, [weak](const std::string& name, drivers::InstanceId instance, int code, int sig) {
        if (auto self = weak.lock())
          self->on_strand(
              [name, instance, code, sig](Pod& p, Deferred& d) { p.on_exit(name, instance, code, sig, d); });
      }};
  pod->driver_ = make_driver(std::move(env));
  pod->driver_->validate(pod->spec_);
  pod->host_reports_exits_ = !pod->driver_->reports_exits();
  return pod;
}

Pod::Pod(Context& ctx, PodSpec spec, PodOptions options)
    : ctx_(ctx),
      spec_(std::move(spec)),
      options_(std::move(options)),
      strand_(ctx.make_strand()),
      events_(std::make_shared<EventLog>(ctx.io(), spec_.name)) {
  auto make = [&](const ContainerSpec& cs) {
    Container c;
    c.spec = &cs;
    c.backoff = Backoff(options_.backoff);
    c.st.waiting_reason = default_waiting_reason();
    c.stop_timer = std::make_unique<boost::asio::steady_timer>(strand_);
    c.restart_timer = std::make_unique<boost::asio::steady_timer>(strand_);
    return c;
  };
  for (const auto& cs : spec_.init_containers) init_.push_back(make(cs));
  for (const auto& cs : spec_.containers) main_.push_back(make(cs));
}

Pod::~Pod() {
  // shutdown() normally ran; if not (creation failed half-way), nothing was started.
  events_->close();
}

std::string Pod::default_waiting_reason() const {
  return spec_.init_containers.empty() ? "ContainerCreating" : "PodInitializing";
}

template <class F>
void Pod::on_strand(F f) {
  boost::asio::post(strand_, [weak = weak_from_this(), f = std::move(f)]() mutable {
    if (auto self = weak.lock()) self->run_locked([&](Deferred& d) { f(*self, d); });
  });
}

void Pod::run_locked(const std::function<void(Deferred&)>& body) {
  Deferred d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (detached_) return;
    body(d);
    changed_.notify_all();
  }
  for (auto& f : d) f();
}

Pod::Container* Pod::find(const std::string& name) {
  for (auto& c : init_)
    if (c.spec->name == name) return &c;
  for (auto& c : main_)
    if (c.spec->name == name) return &c;
  return nullptr;
}

void Pod::emit(const std::string& type, const std::string& reason, const std::string& message,
               const std::string& container) {
  events_->add(Event{type, reason, message, container, std::chrono::system_clock::now()});
}

// ---- starting ---------------------------------------------------------------------------

void Pod::start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) throw_state("pod " + spec_.name + " was already started");
    if (terminating_ || detached_) throw_state("pod " + spec_.name + " is terminating");
    started_ = true;
    start_time_ = std::chrono::system_clock::now();
    pod_ip_ = "127.0.0.1";  // until a driver tells otherwise: the process driver shares the host network
  }
  on_strand([](Pod& p, Deferred& d) { p.advance(d); });
}

// Decides what to start next: the first init container that has not succeeded (strictly in
// order), then main containers in spec order, one start pipeline at a time.
void Pod::advance(Deferred& d) {
  if (!started_ || terminating_ || terminal_ || busy_) return;
  auto now = Clock::now();
  auto due = [&](const Container& c) { return c.restart_at && *c.restart_at <= now; };
  for (auto& c : init_) {
    if (c.succeeded) continue;
    if (c.alive || c.starting) return;
    if (!c.ever_started || due(c)) start_container(c, d);
    return;
  }
  for (auto& c : main_) {
    if (c.alive || c.starting) continue;
    if (!c.ever_started || due(c)) {
      start_container(c, d);
      return;
    }
  }
  update_terminal();
}

void Pod::start_container(Container& c, Deferred& d) {
  auto now = Clock::now();
  busy_ = true;
  c.starting = true;
  if (c.ever_started) {
    c.backoff.next(c.finished, now);
    ++c.st.restart_count;
    if (c.st.kind == StateKind::Terminated) c.st.last = c.st.terminated;
  }
  c.restart_at.reset();
  c.st.kind = StateKind::Waiting;
  if (c.st.waiting_reason != "CrashLoopBackOff" && c.st.waiting_reason != "PostStartHookError") {
    c.st.waiting_reason = c.ever_started ? "ContainerCreating" : default_waiting_reason();
    c.st.waiting_message.clear();
  }
  uint64_t instance = ++c.instance;
  c.early_exit.reset();
  std::string name = c.spec->name;
  const ContainerSpec* spec = c.spec;
  std::weak_ptr<Pod> weak = weak_from_this();
  d.push_back([this, spec, name, instance, weak] {
    driver_->start(*spec, instance, [weak, name, instance](std::optional<drivers::StartInfo> info, std::string error) {
      if (auto self = weak.lock())
        self->on_strand([name, instance, info = std::move(info), error = std::move(error)](Pod& p, Deferred& d) {
          p.on_started(name, instance, info, error, d);
        });
    });
  });
}

void Pod::on_started(const std::string& name, uint64_t instance, std::optional<drivers::StartInfo> info,
                     std::string error, Deferred& d) {
  Container* cp = find(name);
  if (!cp || cp->instance != instance) return;
  Container& c = *cp;
  auto now_sys = std::chrono::system_clock::now();
  c.ever_started = true;
  if (!info) {
    // What containerd reports for a container that could not start: terminated, StartError, 128.
    emit("Warning", "Failed", "Error: " + error, name);
    c.starting = false;
    busy_ = false;
    c.st.started_at = now_sys;
    c.finished = Clock::now();
    c.st.kind = StateKind::Terminated;
    c.st.terminated = TerminatedState{128, 0, "StartError", error, now_sys, now_sys};
    c.st.ready = false;
    c.st.started = false;
    d.push_back([this, name, instance] { driver_->remove(name, instance); });
    instance_ended(c, d);
    return;
  }
  c.alive = true;
  c.st.started_at = now_sys;
  if (!info->pod_ip.empty()) pod_ip_ = info->pod_ip;
  c.target = Target{};
  c.target.pod_ip = pod_ip_;
  c.target.ports = c.spec->ports;
  c.target.env = c.spec->env;
  c.target.working_dir = c.spec->working_dir;
  driver_->fill_target(*c.spec, *info, c.target);
  emit("Normal", "Created", "Created container: " + name, name);
  emit("Normal", "Started", "Started container " + name, name);
  if (c.early_exit) {
    auto [code, sig] = *c.early_exit;
    c.early_exit.reset();
    on_exit(name, instance, code, sig, d);
    return;
  }
  if (terminating_) {
    // Terminate arrived while the driver was starting it: stop it with what is left of the grace.
    c.starting = false;
    busy_ = false;
    begin_stop(c, pod_deadline_, "", d);
    return;
  }
  if (c.spec->post_start) {
    run_hook(c, Hook::PostStart, *c.spec->post_start, d);
    return;  // the pipeline (busy_) stays until postStart completed
  }
  became_running(c, d);
}

void Pod::became_running(Container& c, Deferred& d) {
  c.starting = false;
  busy_ = false;
  c.st.kind = StateKind::Running;
  c.st.waiting_reason.clear();
  c.st.waiting_message.clear();
  c.st.started = true;
  c.st.ready = !c.spec->init;  // no probes yet: a regular container is ready once running
  advance(d);
}

void Pod::run_hook(Container& c, Hook kind, const HandlerSpec& h, Deferred& d) {
  Request req;
  req.handler = h;
  req.target = c.target;
  req.purpose = kind == Hook::PostStart ? Purpose::PostStart : Purpose::PreStop;
  req.timeout_ms = 0;  // postStart: none (kubelet); preStop: ended by the termination deadline
  c.hook = kind;
  std::string name = c.spec->name;
  uint64_t instance = c.instance;
  std::weak_ptr<Pod> weak = weak_from_this();
  try {
    // The op id is known only after submit returns; the completion carries it and is matched
    // against c.hook_op on the strand (which is where we are, so it cannot run before this).
    c.hook_op = ctx_.submit(req, [weak, name, instance, kind](uint64_t op, const Result& r) {
      if (auto self = weak.lock())
        self->on_strand([name, instance, op, kind, r](Pod& p, Deferred& d) {
          --p.hooks_in_flight_;
          p.on_hook_done(name, instance, op, kind, r, d);
          // The last (canceled) hook may be all that terminate or the terminal phase waited for.
          p.settle();
        });
    });
    ++hooks_in_flight_;
  } catch (const std::exception& e) {
    Result r;
    r.outcome = Outcome::Error;
    r.message = e.what();
    c.hook_op = 0;
    on_strand([name, instance, kind, r](Pod& p, Deferred& d) { p.on_hook_done(name, instance, 0, kind, r, d); });
  }
  (void)d;
}

void Pod::cancel_hook(Container& c) {
  if (c.hook != Hook::None && c.hook_op != 0) ctx_.cancel(c.hook_op);
  c.hook = Hook::None;
  c.hook_op = 0;
}

void Pod::on_hook_done(const std::string& name, uint64_t instance, uint64_t op, Hook kind, const Result& r,
                       Deferred& d) {
  Container* cp = find(name);
  if (!cp || cp->instance != instance || cp->hook != kind || cp->hook_op != op) return;  // canceled or stale
  Container& c = *cp;
  c.hook = Hook::None;
  c.hook_op = 0;
  bool ok = r.outcome == Outcome::Success;
  if (kind == Hook::PostStart) {
    if (!c.alive) return;  // exited meanwhile; on_exit ended the pipeline
    if (ok) {
      became_running(c, d);
      return;
    }
    ctx_.log().info("pod {}: postStart of {} failed: {}", spec_.name, name, r.message);
    // The kubelet keeps the handler message out of the event (it may hold secrets) and puts it
    // into the waiting state instead.
    emit("Warning", "FailedPostStartHook", "PostStartHook failed", name);
    c.post_start_failed = true;
    c.post_start_message = hook_failure_message(*c.spec, *c.spec->post_start, r, format_pod(spec_));
    begin_stop(c, saturating_add(Clock::now(), Millis(spec_.grace_ms)), "FailedPostStartHook", d);
    return;  // busy_ stays until the container exited (the kubelet kills synchronously)
  }
  // preStop finished before the deadline.
  if (!ok) {
    ctx_.log().info("pod {}: preStop of {} failed: {}", spec_.name, name, r.message);
    emit("Warning", "FailedPreStopHook", "PreStopHook failed", name);
  }
  if (c.alive && c.stop == Stop::PreStop) send_stop_signal(c, d);
}

// ---- exits and restarts -----------------------------------------------------------------

void Pod::container_exited(const std::string& name, int exit_code, int signal) {
  if (!find(name))
    throw Error(LIFEHOOK_E_NOT_FOUND, "container_name: no container named \"" + name + "\" in pod " + spec_.name);
  if (!host_reports_exits_)
    throw_state("pod " + spec_.name +
                ": its driver reports container exits itself (lifehook_pod_container_exited is for host drivers)");
  // The host knows its containers by name: the report is about the instance current when it
  // reaches the strand.
  on_strand(
      [name, exit_code, signal](Pod& p, Deferred& d) { p.on_exit(name, kCurrentInstance, exit_code, signal, d); });
}

void Pod::on_exit(const std::string& name, drivers::InstanceId instance, int exit_code, int signal, Deferred& d) {
  Container* cp = find(name);
  if (!cp) return;
  if (instance == kCurrentInstance) instance = cp->instance;
  if (instance != cp->instance) return;  // an earlier instance's exit, already accounted for
  if (!cp->alive && cp->starting) {
    // A host may report the exit from inside its start callback, before the start completion
    // reached us: keep it for on_started.
    cp->early_exit = std::make_pair(exit_code, signal);
    return;
  }
  if (!cp || !cp->alive) return;  // duplicate or stale report
  Container& c = *cp;
  auto now_sys = std::chrono::system_clock::now();
  c.alive = false;
  c.finished = Clock::now();
  ++c.stop_gen;
  c.stop_timer->cancel();
  cancel_hook(c);  // a hook of a container that is gone has nothing left to do (K13)
  if (signal > 0 && exit_code < 0) exit_code = 128 + signal;
  TerminatedState t;
  t.started_at = c.st.started_at;
  t.finished_at = now_sys;
  t.signal = signal;
  if (exit_code < 0) {
    t.exit_code = 137;
    t.reason = "ContainerStatusUnknown";
    t.message = "The container could not be located when the pod was terminated";
  } else {
    t.exit_code = exit_code;
    t.reason = exit_code == 0 ? "Completed" : "Error";
  }
  c.st.kind = StateKind::Terminated;
  c.st.terminated = t;
  c.st.ready = false;
  c.st.started = false;
  c.stop = Stop::None;
  if (c.starting) {  // exited during postStart: the start pipeline ends here
    c.starting = false;
    busy_ = false;
  }
  d.push_back([this, name, instance] { driver_->remove(name, instance); });
  instance_ended(c, d);
}

void Pod::instance_ended(Container& c, Deferred& d) {
  if (c.post_start_failed) {
    c.post_start_failed = false;
    busy_ = false;
    c.st.last = c.st.terminated;
    c.st.kind = StateKind::Waiting;
    c.st.waiting_reason = "PostStartHookError";
    c.st.waiting_message = c.post_start_message;
  }
  if (terminating_) {
    settle();
    return;
  }
  int code = c.st.last && c.st.kind == StateKind::Waiting ? c.st.last->exit_code : c.st.terminated.exit_code;
  bool failed = code != 0 || c.st.kind == StateKind::Waiting;  // PostStartHookError counts as a failure
  bool restart;
  if (c.spec->init) {
    if (!failed) {
      c.succeeded = true;
      restart = false;
    } else {
      restart = spec_.restart_policy != RestartPolicy::Never;
    }
  } else {
    restart =
        spec_.restart_policy == RestartPolicy::Always || (spec_.restart_policy == RestartPolicy::OnFailure && failed);
  }
  if (restart) {
    auto now = Clock::now();
    Millis delay = c.backoff.delay(c.finished, now);
    c.restart_at = now + delay;
    if (delay.count() > 0) {
      if (c.st.kind == StateKind::Terminated) c.st.last = c.st.terminated;
      c.st.kind = StateKind::Waiting;
      c.st.waiting_reason = "CrashLoopBackOff";
      c.st.waiting_message = "back-off " + go_duration(c.backoff.current()) +
                             " restarting failed container=" + c.spec->name + " pod=" + format_pod(spec_);
      emit("Warning", "BackOff",
           "Back-off restarting failed container " + c.spec->name + " in pod " + format_pod(spec_), c.spec->name);
      c.restart_timer->expires_at(*c.restart_at);
      c.restart_timer->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        if (ec) return;
        if (auto self = weak.lock()) self->run_locked([&](Deferred& d) { self->advance(d); });
      });
    }
  }
  advance(d);
  update_terminal();
}

bool Pod::all_stopped() const {
  if (hooks_in_flight_ > 0) return false;
  for (const auto* list : {&init_, &main_})
    for (const auto& c : *list)
      if (c.alive || c.starting) return false;
  return true;
}

void Pod::settle() {
  if (terminating_ && all_stopped()) stopped_ = true;
  update_terminal();
}

void Pod::update_terminal() {
  if (terminal_) return;
  if (stopped_) {
    terminal_ = true;
    return;
  }
  std::string phase = compute_phase(view());
  if (phase == "Succeeded" || phase == "Failed") {
    // Terminal for good (restartPolicy decided so): nothing runs or restarts any more.
    if (all_stopped()) terminal_ = true;
  }
}

// ---- termination ------------------------------------------------------------------------

void Pod::terminate(int64_t grace_ms) {
  if (ctx_.on_loop_thread())
    throw_state("lifehook_pod_terminate must not be called from a library callback (it blocks until the pod stopped)");
  auto requested = Clock::now();  // the deadline counts from the call, not from when the loop gets to it
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (detached_) return;
  }
  int64_t grace = grace_ms < 0 ? spec_.grace_ms : grace_ms;
  on_strand([grace, requested](Pod& p, Deferred& d) { p.do_terminate(grace, requested, d); });
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return stopped_ || detached_; });
}

void Pod::do_terminate(int64_t grace_ms, Clock::time_point requested, Deferred& d) {
  auto deadline = saturating_add(requested, Millis(grace_ms));
  if (!terminating_) {
    terminating_ = true;
    deletion_time_ = std::chrono::system_clock::now();
    pod_deadline_ = deadline;
    for (auto* list : {&init_, &main_})
      for (auto& c : *list) {
        c.restart_at.reset();  // nothing restarts from now on
        c.restart_timer->cancel();
        if (c.alive) begin_stop(c, deadline, "", d);
      }
  } else if (deadline < pod_deadline_) {
    pod_deadline_ = deadline;
    for (auto* list : {&init_, &main_})
      for (auto& c : *list)
        if (c.alive) begin_stop(c, deadline, "", d);
  }
  settle();
}

// The stop sequence of one running container: Killing event, preStop (blocking the stop
// signal) until it ends or the deadline passes, the stop signal, SIGKILL at the deadline but
// never sooner than 2 s after the stop signal. Grace 0: SIGKILL now.
void Pod::begin_stop(Container& c, Clock::time_point deadline, const std::string& message, Deferred& d) {
  if (c.stop != Stop::None) {
    move_deadline(c, deadline, d);
    return;
  }
  const std::string& name = c.spec->name;
  emit("Normal", "Killing", message.empty() ? "Stopping container " + name : message, name);
  c.deadline = deadline;
  if (c.hook == Hook::PostStart) cancel_hook(c);  // the pipeline ends with the exit
  if (deadline <= Clock::now()) {
    kill_now(c, d);
    return;
  }
  if (c.spec->pre_stop) {
    c.stop = Stop::PreStop;
    run_hook(c, Hook::PreStop, *c.spec->pre_stop, d);
    arm_stop_timer(c, deadline);
    return;
  }
  send_stop_signal(c, d);
}

void Pod::move_deadline(Container& c, Clock::time_point deadline, Deferred& d) {
  if (deadline >= c.deadline) return;  // a longer grace changes nothing
  c.deadline = deadline;
  if (c.stop == Stop::Killed) return;
  if (deadline <= Clock::now()) {
    kill_now(c, d);
    return;
  }
  if (c.stop == Stop::PreStop)
    arm_stop_timer(c, deadline);
  else if (c.stop == Stop::Signaled)
    arm_stop_timer(c, std::max(deadline, c.signal_time + kMinStopWindow));
}

void Pod::send_stop_signal(Container& c, Deferred& d) {
  auto now = Clock::now();
  c.stop = Stop::Signaled;
  c.signal_time = now;
  int signo = c.spec->stop_signal ? c.spec->stop_signal : SIGTERM;
  std::string name = c.spec->name;
  d.push_back([this, name, instance = c.instance, signo] { driver_->signal(name, instance, signo); });
  arm_stop_timer(c, std::max(c.deadline, now + kMinStopWindow));
}

void Pod::kill_now(Container& c, Deferred& d) {
  if (c.hook == Hook::PreStop || c.hook == Hook::PostStart) cancel_hook(c);  // a hook is killed, not abandoned
  c.stop = Stop::Killed;
  std::string name = c.spec->name;
  d.push_back([this, name, instance = c.instance] { driver_->kill(name, instance); });
  // A driver that never reports this exit must not keep terminate waiting forever.
  arm_stop_timer(c, saturating_add(Clock::now(), kExitReportWindow));
}

void Pod::arm_stop_timer(Container& c, Clock::time_point at) {
  uint64_t gen = ++c.stop_gen;
  std::string name = c.spec->name;
  c.stop_timer->expires_at(at);
  c.stop_timer->async_wait([weak = weak_from_this(), name, gen](const boost::system::error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self) return;
    self->run_locked([&](Deferred& d) {
      Container* c = self->find(name);
      if (c && c->stop_gen == gen) self->on_stop_timer(*c, d);
    });
  });
}

void Pod::on_stop_timer(Container& c, Deferred& d) {
  if (!c.alive) return;
  if (c.stop == Stop::PreStop) {
    // The deadline passed with preStop still running: kill the hook, then the stop signal
    // (which gets the 2 s floor: the kubelet's one-off extension).
    ctx_.log().info("pod {}: preStop of {} did not finish within the grace period; killed", spec_.name, c.spec->name);
    emit("Warning", "FailedPreStopHook", "PreStopHook did not complete within the grace period", c.spec->name);
    cancel_hook(c);
    send_stop_signal(c, d);
  } else if (c.stop == Stop::Signaled) {
    kill_now(c, d);
  } else if (c.stop == Stop::Killed) {
    // SIGKILL was sent kExitReportWindow ago and the driver still has not reported the exit: it
    // lost it (or the container cannot be reached). Reported, and counted as gone, as the kubelet
    // does for a container it cannot find (ContainerStatusUnknown, 137).
    ctx_.log().error("pod {}: container {} did not report its exit within {} ms of SIGKILL; considered gone",
                     spec_.name, c.spec->name, kExitReportWindow.count());
    emit("Warning", "FailedKillPod",
         "error killing pod: container \"" + c.spec->name + "\" did not report its exit within " +
             std::to_string(kExitReportWindow.count() / 1000) + " s of SIGKILL",
         c.spec->name);
    on_exit(c.spec->name, c.instance, -1, 0, d);
  }
}

// ---- waiting, status, shutdown ----------------------------------------------------------

bool Pod::wait(int64_t timeout_ms) {
  if (ctx_.on_loop_thread()) throw_state("lifehook_pod_wait must not be called from a library callback");
  std::unique_lock<std::mutex> lock(mu_);
  auto done = [this] { return terminal_ || stopped_ || detached_; };
  if (timeout_ms < 0 || timeout_ms >= kForeverMs) {  // a timeout of centuries is forever, never a wrapped instant
    changed_.wait(lock, done);
    return true;
  }
  return changed_.wait_for(lock, Millis(timeout_ms), done);
}

PodView Pod::view() const {
  PodView v;
  v.spec = &spec_;
  for (const auto& c : init_) v.init.push_back(c.st);
  for (const auto& c : main_) v.main.push_back(c.st);
  v.deletion_requested = terminating_;
  v.terminal = stopped_ || (terminal_ && all_stopped());
  v.start_time = start_time_;
  v.deletion_time = deletion_time_;
  v.pod_ip = pod_ip_;
  return v;
}

std::string Pod::status_json() {
  std::lock_guard<std::mutex> lock(mu_);
  // Hook output in messages may be any bytes: invalid UTF-8 is replaced, never a throw.
  return build_status(view(), std::chrono::system_clock::now()).dump(-1, ' ', false, json::error_handler_t::replace);
}

void Pod::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (detached_) return;
  }
  if (ctx_.on_loop_thread()) throw_state("lifehook_pod_destroy must not be called from a library callback");
  bool stopped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped = stopped_ || !started_;
  }
  if (!stopped) {
    auto requested = Clock::now();
    on_strand([requested](Pod& p, Deferred& d) { p.do_terminate(0, requested, d); });
    std::unique_lock<std::mutex> lock(mu_);
    // A host driver that never reports the exits must not hang the host forever.
    if (!changed_.wait_for(lock, std::chrono::seconds(30), [this] { return stopped_; }))
      ctx_.log().error("pod {}: containers did not stop within 30 s of SIGKILL; giving up on them", spec_.name);
  }
  events_->close();
  // Release the timers and the driver on the strand, where they are used, and wait for it.
  std::promise<void> released;
  auto fut = released.get_future();
  boost::asio::post(strand_, [self = shared_from_this(), &released] {
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->detached_ = true;
      for (auto* list : {&self->init_, &self->main_})
        for (auto& c : *list) {
          if (c.hook_op) self->ctx_.cancel(c.hook_op);
          c.stop_timer.reset();
          c.restart_timer.reset();
        }
      self->changed_.notify_all();
    }
    self->driver_.reset();  // kills and reaps anything left (process driver)
    released.set_value();
  });
  fut.wait();
}

}  // namespace lifehook::pod
