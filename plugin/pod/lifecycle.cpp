#include "lifecycle.hpp"

#include "../common/errors.hpp"
#include "restart.hpp"
#include "sequencer.hpp"
#include "termination_message.hpp"

namespace lifehook::pod {

Lifecycle::Lifecycle(const PodSpec& spec, BackoffOptions backoff, LifecycleEnv env)
    : spec_(spec),
      current_(&spec),
      backoff_options_(backoff),
      env_(std::move(env)),
      hooks_(env_.hook_executor),
      stops_(*this) {
  auto post = env_.post;
  auto run_locked = env_.run_locked;
  probes_ = PodProbes::create(ProbeEnv{env_.clock, env_.strand,
                                       [post](std::function<void(Deferred&)> fn) {
                                         post([fn = std::move(fn)](Lifecycle&, Deferred& d) { fn(d); });
                                       },
                                       [run_locked](const std::function<void(Deferred&)>& fn) {
                                         run_locked([&fn](Lifecycle&, Deferred& d) { fn(d); });
                                       },
                                       env_.prober},
                              *this);
  auto add = [&](const ContainerSpec& cs) {
    Container c;
    c.spec = &cs;
    c.role = role_of(cs);
    c.restart.backoff = Backoff(backoff);
    c.stop.timer = env_.clock.make_timer(env_.strand);
    c.restart.timer = env_.clock.make_timer(env_.strand);
    containers_.push_back(std::move(c));
  };
  for (const auto& cs : spec_.init_containers) add(cs);
  for (const auto& cs : spec_.containers) add(cs);
  for (auto& c : containers_) set_waiting(c, default_waiting_reason());
}

Lifecycle::~Lifecycle() = default;

WaitingReason Lifecycle::default_waiting_reason() const {
  return spec_.init_containers.empty() ? WaitingReason::ContainerCreating : WaitingReason::PodInitializing;
}

void Lifecycle::set_waiting(Container& c, WaitingReason reason, std::string message) {
  c.waiting = reason;
  c.st.kind = StateKind::Waiting;
  c.st.waiting_reason = std::string(name(reason));
  c.st.waiting_message = std::move(message);
}

Container* Lifecycle::find(const std::string& name) {
  for (auto& c : containers_)
    if (c.name() == name) return &c;
  return nullptr;
}

bool Lifecycle::has_container(const std::string& name) const {
  for (const auto& c : containers_)
    if (c.name() == name) return true;
  return false;
}

void Lifecycle::emit(EventReason reason, const std::string& message, const std::string& container) {
  env_.emit(
      Event{std::string(event_type(reason)), std::string(name(reason)), message, container, env_.clock.wall_now()});
}

// ---- starting ---------------------------------------------------------------------------

void Lifecycle::mark_started() {
  started_ = true;
  start_time_ = env_.clock.wall_now();
  pod_ip_ = "127.0.0.1";  // until a driver tells otherwise: the process driver shares the host network
}

void Lifecycle::advance(Deferred& d) {
  SequencerInput in;
  in.started = started_;
  in.terminating = terminating_ || completing_;
  in.terminal = terminal_;
  in.busy = busy_;
  in.initialized = initialized_;
  for (const auto& c : containers_) in.containers.push_back(slot_of(c));
  SequencerDecision next = next_start(in, env_.clock.now());
  if (next.initialized) initialized_ = true;
  if (next.start) {
    start_container(containers_[*next.start], d);
    return;
  }
  update_terminal();
}

void Lifecycle::start_container(Container& c, Deferred& d) {
  auto now = env_.clock.now();
  busy_ = true;
  if (c.instance.ever_started && c.st.kind == StateKind::Terminated) c.st.last = c.st.terminated;
  count_restart(c, now);
  c.instance.starting = true;
  c.probes.killed = false;
  c.restart.restart_at.reset();
  if (c.waiting != WaitingReason::CrashLoopBackOff && c.waiting != WaitingReason::PostStartHookError)
    set_waiting(c, c.instance.ever_started ? WaitingReason::ContainerCreating : default_waiting_reason());
  else
    c.st.kind = StateKind::Waiting;
  drivers::InstanceId instance = ++c.instance.id;
  c.instance.early_exit.reset();
  std::string name = c.name();
  const ContainerSpec* spec = c.spec;
  auto post = env_.post;
  d.push_back([this, spec, name, instance, post] {
    driver_->start(*spec, instance, [post, name, instance](std::optional<drivers::StartInfo> info, std::string error) {
      post([name, instance, info = std::move(info), error = std::move(error)](Lifecycle& l, Deferred& d) {
        l.on_started(name, instance, info, error, d);
      });
    });
  });
}

void Lifecycle::on_started(const std::string& name, drivers::InstanceId instance,
                           std::optional<drivers::StartInfo> info, std::string error, Deferred& d) {
  Container* cp = find(name);
  if (!cp || cp->instance.id != instance) return;
  Container& c = *cp;
  auto now_sys = env_.clock.wall_now();
  c.instance.ever_started = true;
  if (!info) {
    // What containerd reports for a container that could not start: terminated, StartError, 128.
    emit(EventReason::Failed, "Error: " + error, name);
    c.instance.starting = false;
    busy_ = false;
    c.st.started_at = now_sys;
    c.restart.finished = env_.clock.now();
    c.st.kind = StateKind::Terminated;
    c.st.terminated =
        TerminatedState{128, 0, std::string(pod::name(TerminatedReason::StartError)), error, now_sys, now_sys};
    c.st.ready = false;
    c.st.started = false;
    d.push_back([this, name, instance] { driver_->remove(name, instance); });
    instance_ended(c, d);
    return;
  }
  c.instance.alive = true;
  c.instance.started_at = env_.clock.now();
  c.st.started_at = now_sys;
  if (!info->pod_ip.empty()) pod_ip_ = info->pod_ip;
  take_instance(c, *info);
  emit(EventReason::Created, "Created container: " + name, name);
  emit(EventReason::Started, "Started container " + name, name);
  if (c.instance.early_exit) {
    auto [code, sig] = *c.instance.early_exit;
    c.instance.early_exit.reset();
    on_exit(name, instance, code, sig, d);
    return;
  }
  if (terminating_ || completing_) {
    // Terminate arrived while the driver was starting it: stop it with what is left of the grace
    // (a sidecar in its turn).
    c.instance.starting = false;
    busy_ = false;
    if (c.role == Role::Sidecar)
      stop_next_sidecar(d);
    else
      stops_.stop(c, pod_deadline_, KillReason::PodTermination, "", d);
    return;
  }
  if (c.restart.definition_changed) {
    // A live update changed it while the driver was starting the old definition.
    c.instance.starting = false;
    busy_ = false;
    stops_.stop(c, saturating_add(env_.clock.now(), std::chrono::milliseconds(spec_.grace_ms)),
                KillReason::DefinitionChanged, "Container " + name + " definition changed, will be restarted", d);
    return;
  }
  if (c.spec->post_start) {
    run_hook(c, HookKind::PostStart, *c.spec->post_start);
    return;  // the pipeline (busy_) stays until postStart completed
  }
  became_running(c, d);
}

void Lifecycle::take_instance(Container& c, const drivers::StartInfo& info) {
  c.instance.target = Target{};
  c.instance.target.env = c.spec->env;
  c.instance.target.working_dir = c.spec->working_dir;
  c.instance.target.ports = c.spec->ports;
  c.instance.target.pod_ip = pod_ip_;
  driver_->fill_target(*c.spec, info, c.instance.target);
  c.instance.record = info.record;
}

void Lifecycle::became_running(Container& c, Deferred& d) {
  c.instance.starting = false;
  busy_ = false;
  c.waiting = WaitingReason::None;
  c.st.kind = StateKind::Running;
  c.st.waiting_reason.clear();
  c.st.waiting_message.clear();
  // UpdatePodStatus: started once running without a startup probe; ready once started without a
  // readiness probe (a regular init container is never ready while it runs).
  c.st.started = !PodProbes::has(*c.spec, probe::ProbeType::Startup);
  c.st.ready = c.role != Role::Init && c.st.started && !PodProbes::has(*c.spec, probe::ProbeType::Readiness);
  probes_->instance_running(c, d);
  advance(d);
}

// ---- hooks ------------------------------------------------------------------------------

void Lifecycle::run_hook(Container& c, HookKind kind, const HandlerSpec& h) {
  std::string name = c.name();
  drivers::InstanceId instance = c.instance.id;
  auto post = env_.post;
  hooks_.run(c, kind, h, [post, name, instance, kind](uint64_t op, const Result& r) {
    post([name, instance, op, kind, r](Lifecycle& l, Deferred& d) {
      l.on_hook_done(name, instance, op, kind, r, d);
      // The last (canceled) hook may be all that terminate or the terminal phase waited for.
      l.settle();
    });
  });
}

void Lifecycle::on_hook_done(const std::string& name, drivers::InstanceId instance, uint64_t op, HookKind kind,
                             const Result& r, Deferred& d) {
  Container* cp = find(name);
  if (!cp) return;
  Container& c = *cp;
  bool current = hooks_.completed(c, kind, op);
  if (!current || c.instance.id != instance) return;  // canceled or stale
  for (const auto& m : http_fallback_messages(r)) emit(EventReason::LifecycleHTTPFallback, m, "");
  bool ok = r.outcome == Outcome::Success;
  if (kind == HookKind::PostStart) {
    if (!c.instance.alive) return;  // exited meanwhile; on_exit ended the pipeline
    if (ok) {
      became_running(c, d);
      return;
    }
    env_.log.info("pod {}: postStart of {} failed: {}", spec_.name, name, r.message);
    // The kubelet keeps the handler message out of the event (it may hold secrets) and puts it
    // into the waiting state instead.
    emit(EventReason::FailedPostStartHook, "PostStartHook failed", name);
    c.hook.post_start_failed = true;
    c.hook.post_start_message = hook_failure_message(*c.spec, "postStart", *c.spec->post_start, r, format_pod(spec_));
    stops_.stop(c, saturating_add(env_.clock.now(), std::chrono::milliseconds(spec_.grace_ms)),
                KillReason::FailedPostStartHook, "FailedPostStartHook", d);
    return;  // busy_ stays until the container exited (the kubelet kills synchronously)
  }
  // preStop finished before the deadline.
  if (!ok) {
    env_.log.info("pod {}: preStop of {} failed: {}", spec_.name, name, r.message);
    emit(EventReason::FailedPreStopHook, "PreStopHook failed", name);
  }
  stops_.pre_stop_done(c, d);
}

// ---- exits and restarts -----------------------------------------------------------------

void Lifecycle::on_exit(const std::string& name, drivers::InstanceId instance, int exit_code, int signal, Deferred& d) {
  Container* cp = find(name);
  if (!cp) return;
  Container& c = *cp;
  if (instance == kCurrentInstance) instance = c.instance.id;
  if (instance != c.instance.id) return;  // an earlier instance's exit, already accounted for
  if (!c.instance.alive && c.instance.starting) {
    // A host may report the exit from inside its start callback, before the start completion
    // reached us: keep it for on_started.
    c.instance.early_exit = std::make_pair(exit_code, signal);
    return;
  }
  if (!c.instance.alive) return;  // duplicate report
  auto now_sys = env_.clock.wall_now();
  c.instance.alive = false;
  c.instance.record = nullptr;
  c.restart.finished = env_.clock.now();
  stops_.exited(c);
  hooks_.cancel(c);  // a hook of a container that is gone has nothing left to do
  probes_->instance_stopped(name);
  if (signal > 0 && exit_code < 0) exit_code = 128 + signal;
  TerminatedState t;
  t.started_at = c.st.started_at;
  t.finished_at = now_sys;
  t.signal = signal;
  if (exit_code < 0) {
    t.exit_code = 137;
    t.reason = std::string(pod::name(TerminatedReason::ContainerStatusUnknown));
    t.message = "The container could not be located when the pod was terminated";
  } else {
    t.exit_code = exit_code;
    t.reason = std::string(pod::name(exit_code == 0 ? TerminatedReason::Completed : TerminatedReason::Error));
    // Read before the removal (deferred below) releases what the instance left.
    const ContainerSpec& cs = *c.spec;
    t.message = termination_message(
        cs.termination_message_policy, exit_code, t.message,
        [&] { return driver_->termination_message_file(cs, instance, kMaxContainerTerminationMessageLength); },
        [&] { return driver_->log_tail(cs, instance, kMaxContainerTerminationMessageLogLength); });
  }
  c.st.kind = StateKind::Terminated;
  c.st.terminated = t;
  c.st.ready = false;
  c.st.started = false;
  if (c.instance.starting) {  // exited during postStart: the start pipeline ends here
    c.instance.starting = false;
    busy_ = false;
  }
  d.push_back([this, name, instance] { driver_->remove(name, instance); });
  instance_ended(c, d);
}

void Lifecycle::instance_ended(Container& c, Deferred& d) {
  if (c.hook.post_start_failed) {
    c.hook.post_start_failed = false;
    busy_ = false;
    c.st.last = c.st.terminated;
    set_waiting(c, WaitingReason::PostStartHookError, c.hook.post_start_message);
  }
  if (terminating_ || (completing_ && c.role == Role::Sidecar)) {
    stop_next_sidecar(d);
    settle();
    return;
  }
  bool post_start_error = c.st.kind == StateKind::Waiting;  // PostStartHookError counts as a failure
  int code = post_start_error && c.st.last ? c.st.last->exit_code : c.st.terminated.exit_code;
  RestartDecision decision =
      decide_restart(c.role, spec_.restart_policy, code != 0 || post_start_error || c.probes.killed);
  if (c.restart.definition_changed) {
    // "Restart regardless of the restart policy because the container spec changed", at once: the
    // kubelet's backoff is keyed by the container's hash, and this is a new one.
    c.restart.definition_changed = false;
    c.restart.backoff = Backoff(backoff_options_);
    decision = RestartDecision{true, false};
  }
  if (decision.succeeded) c.restart.succeeded = true;
  if (decision.restart) {
    auto now = env_.clock.now();
    std::chrono::milliseconds delay = schedule_restart(c, now);
    if (delay.count() > 0) {
      if (c.st.kind == StateKind::Terminated) c.st.last = c.st.terminated;
      set_waiting(c, WaitingReason::CrashLoopBackOff, backoff_waiting_message(c, format_pod(spec_)));
      emit(EventReason::BackOff, backoff_event_message(c, format_pod(spec_)), c.name());
      c.restart.timer->arm(*c.restart.restart_at,
                           [run = env_.run_locked] { run([](Lifecycle& l, Deferred& d) { l.advance(d); }); });
    }
  }
  advance(d);
  if (!completing_ && c.role == Role::Main && main_containers_done()) {
    completing_ = true;
    sidecar_deadline_ = saturating_add(env_.clock.now(), std::chrono::milliseconds(spec_.grace_ms));
    stop_next_sidecar(d);
  }
  update_terminal();
}

bool Lifecycle::main_containers_done() const {
  if (spec_.restart_policy == RestartPolicy::Always) return false;
  for (const auto& c : containers_)
    if (c.role == Role::Main &&
        (!c.instance.ever_started || c.instance.alive || c.instance.starting || c.restart.restart_at))
      return false;
  return true;
}

void Lifecycle::stop_next_sidecar(Deferred& d) {
  if (!terminating_ && !completing_) return;
  for (const auto& c : containers_)
    if (c.role != Role::Sidecar && (c.instance.alive || c.instance.starting)) return;
  auto deadline = terminating_ ? pod_deadline_ : sidecar_deadline_;
  for (auto it = containers_.rbegin(); it != containers_.rend(); ++it) {
    Container& c = *it;
    if (c.role != Role::Sidecar || (!c.instance.alive && !c.instance.starting)) continue;
    // The last-declared sidecar still there: stop it, or wait for it (stopping, or still starting).
    if (c.instance.alive && !c.instance.starting && c.stop.phase == StopPhase::None)
      stops_.stop(c, deadline, terminating_ ? KillReason::PodTermination : KillReason::SidecarsDone, "", d);
    else if (c.stop.phase != StopPhase::None)
      stops_.stop(c, deadline, c.stop.reason, "", d);  // only moves its deadline earlier
    return;
  }
}

bool Lifecycle::all_stopped() const {
  if (hooks_.in_flight() > 0) return false;
  for (const auto& c : containers_)
    if (c.instance.alive || c.instance.starting) return false;
  return true;
}

void Lifecycle::settle() {
  if (terminating_ && all_stopped()) stopped_ = true;
  update_terminal();
}

void Lifecycle::update_terminal() {
  if (terminal_) return;
  if (stopped_) {
    terminal_ = true;
    return;
  }
  std::string phase = compute_phase(view());
  // Terminal for good (restartPolicy decided so): nothing runs or restarts any more.
  if ((phase == "Succeeded" || phase == "Failed") && all_stopped()) terminal_ = true;
}

// ---- termination ------------------------------------------------------------------------

void Lifecycle::terminate(int64_t grace_ms, lifehook::Clock::TimePoint requested, Deferred& d) {
  auto deadline = saturating_add(requested, std::chrono::milliseconds(grace_ms));
  if (!terminating_) {
    terminating_ = true;
    deletion_time_ = env_.clock.wall_now();
    pod_deadline_ = deadline;
    for (auto& c : containers_) {
      c.restart.restart_at.reset();  // nothing restarts from now on
      c.restart.timer->cancel();
      if (c.instance.alive && c.role != Role::Sidecar) stops_.stop(c, deadline, KillReason::PodTermination, "", d);
    }
  } else if (deadline < pod_deadline_) {
    pod_deadline_ = deadline;
    for (auto& c : containers_)
      if (c.instance.alive && (c.role != Role::Sidecar || c.stop.phase != StopPhase::None))
        stops_.stop(c, deadline, c.stop.phase != StopPhase::None ? c.stop.reason : KillReason::PodTermination, "", d);
  }
  stop_next_sidecar(d);
  settle();
}

void Lifecycle::killing_event(Container& c, const std::string& message) {
  emit(EventReason::Killing, message, c.name());
}

void Lifecycle::run_pre_stop(Container& c) { run_hook(c, HookKind::PreStop, *c.spec->pre_stop); }

void Lifecycle::pre_stop_timed_out(Container& c) {
  env_.log.info("pod {}: preStop of {} did not finish within the grace period; killed", spec_.name, c.name());
  emit(EventReason::FailedPreStopHook, "PreStopHook did not complete within the grace period", c.name());
}

void Lifecycle::send_signal(Container& c, int signo, Deferred& d) {
  d.push_back([this, name = c.name(), instance = c.instance.id, signo] { driver_->signal(name, instance, signo); });
}

void Lifecycle::send_kill(Container& c, Deferred& d) {
  d.push_back([this, name = c.name(), instance = c.instance.id] { driver_->kill(name, instance); });
}

void Lifecycle::exit_lost(Container& c, Deferred& d) {
  // Reported, and counted as gone, as the kubelet does for a container it cannot find
  // (ContainerStatusUnknown, 137).
  env_.log.error("pod {}: container {} did not report its exit within {} ms of SIGKILL; considered gone", spec_.name,
                 c.name(), kExitReportWindow.count());
  emit(EventReason::FailedKillPod,
       "error killing pod: container \"" + c.name() + "\" did not report its exit within " +
           std::to_string(kExitReportWindow.count() / 1000) + " s of SIGKILL",
       c.name());
  on_exit(c.name(), c.instance.id, -1, 0, d);
}

void Lifecycle::arm_stop_timer(Container& c, TimePoint at) {
  c.stop.timer->arm(at, [run = env_.run_locked, name = c.name()] {
    run([name](Lifecycle& l, Deferred& d) {
      if (Container* c = l.find(name)) l.stops_.on_timer(*c, d);
    });
  });
}

// ---- probes -----------------------------------------------------------------------------

probe::ContainerView Lifecycle::probe_view(const std::string& name) {
  probe::ContainerView v;
  const Container* c = find(name);
  if (!c) {
    v.terminal = true;
    return v;
  }
  v.instance = c->instance.id;
  v.running = c->instance.alive && !c->instance.starting;
  v.started_at = c->instance.started_at;
  v.started = c->st.started;
  v.terminal = terminal_;
  v.terminating = terminating_;
  bool failed = c->st.terminated.exit_code != 0 || c->probes.killed;
  v.will_restart = !terminating_ && decide_restart(c->role, spec_.restart_policy, failed).restart;
  return v;
}

void Lifecycle::probe_result(const std::string& name, probe::ProbeType type, probe::Verdict v,
                             const probe::Attempt* last, Deferred& d) {
  using probe::ProbeType;
  using probe::Verdict;
  Container* cp = find(name);
  if (!cp || !cp->instance.alive || cp->instance.starting) return;
  Container& c = *cp;
  switch (type) {
    case ProbeType::Readiness: c.st.ready = c.st.started && v == Verdict::Success; break;
    case ProbeType::Startup:
      if (v == Verdict::Success && !c.st.started) {
        c.st.started = true;
        c.st.ready = c.role != Role::Init && !PodProbes::has(*c.spec, ProbeType::Readiness);
        probes_->started(name, d);
        advance(d);  // a sidecar that started lets the init sequence go on
      } else if (v == Verdict::Failure && last) {
        kill_for_probe(c, type, d);
      }
      break;
    case ProbeType::Liveness:
      if (v == Verdict::Failure && last) kill_for_probe(c, type, d);  // not the initial value
      break;
  }
}

void Lifecycle::kill_for_probe(Container& c, probe::ProbeType type, Deferred& d) {
  if (terminating_ || c.stop.phase != StopPhase::None) return;  // stopping already
  const probe::ProbeSpec& p = *PodProbes::spec_of(*c.spec, type);
  bool restart = decide_restart(c.role, spec_.restart_policy, true).restart;
  bool liveness = type == probe::ProbeType::Liveness;
  // computeInitContainerActions words a sidecar's kill its own way (and always restarts it).
  bool sidecar = c.role == Role::Sidecar;
  std::string message = std::string(sidecar ? "Init container " : "Container ") + c.name() + " failed " +
                        (liveness ? "liveness" : "startup") + " probe" +
                        (!sidecar && restart ? ", will be restarted" : "");
  c.probes.killed = true;
  auto grace = std::chrono::milliseconds(p.termination_grace_ms.value_or(spec_.grace_ms));
  stops_.stop(c, saturating_add(env_.clock.now(), grace),
              liveness ? KillReason::LivenessProbe : KillReason::StartupProbe, message, d);
}

// ---- persistence and adoption ------------------------------------------------------------

namespace {

int64_t to_ms(SysTime t) { return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count(); }
SysTime from_ms(const json& j) {
  return SysTime(std::chrono::milliseconds(j.is_number_integer() ? j.get<int64_t>() : 0));
}
const char* role_name(Role r) { return r == Role::Init ? "init" : r == Role::Sidecar ? "sidecar" : "main"; }
const char* kind_name(StateKind k) {
  return k == StateKind::Running ? "running" : k == StateKind::Terminated ? "terminated" : "waiting";
}

json terminated_json(const TerminatedState& t) {
  return {{"exitCode", t.exit_code},
          {"signal", t.signal},
          {"reason", t.reason},
          {"message", t.message},
          {"startedAtMs", to_ms(t.started_at)},
          {"finishedAtMs", to_ms(t.finished_at)}};
}
TerminatedState terminated_from(const json& j) {
  TerminatedState t;
  t.exit_code = j.value("exitCode", 0);
  t.signal = j.value("signal", 0);
  t.reason = j.value("reason", "");
  t.message = j.value("message", "");
  t.started_at = from_ms(j.value("startedAtMs", json(0)));
  t.finished_at = from_ms(j.value("finishedAtMs", json(0)));
  return t;
}

}  // namespace

json Lifecycle::snapshot() const {
  json containers = json::array();
  for (const auto& c : containers_) {
    json j = {{"name", c.name()},
              {"role", role_name(c.role)},
              {"instance", c.instance.id},
              {"everStarted", c.instance.ever_started},
              {"running", c.instance.alive && !c.instance.record.is_null()},
              {"state", kind_name(c.st.kind)},
              {"startedAtMs", to_ms(c.st.started_at)},
              {"started", c.st.started},
              {"ready", c.st.ready},
              {"restartCount", c.st.restart_count},
              {"completed", c.restart.succeeded}};
    if (c.st.kind == StateKind::Terminated) j["terminated"] = terminated_json(c.st.terminated);
    if (c.st.last) j["last"] = terminated_json(*c.st.last);
    if (c.instance.alive && !c.instance.record.is_null()) j["runtime"] = c.instance.record;
    containers.push_back(std::move(j));
  }
  json s = {
      {"started", started_}, {"initialized", initialized_}, {"podIP", pod_ip_}, {"containers", std::move(containers)}};
  if (start_time_) s["startTimeMs"] = to_ms(*start_time_);
  return s;
}

void Lifecycle::restore(const json& snap, Deferred& d) {
  if (!snap.is_object() || !snap.value("containers", json()).is_array())
    throw_invalid("state.containers", "is missing: not a pod state lifehook wrote");
  started_ = true;
  initialized_ = snap.value("initialized", false);
  pod_ip_ = snap.value("podIP", std::string("127.0.0.1"));
  start_time_ = snap.contains("startTimeMs") ? from_ms(snap["startTimeMs"]) : env_.clock.wall_now();
  auto now = env_.clock.now();
  // Checked whole before anything is taken over: a refused state leaves the containers alone.
  for (const auto& j : snap["containers"]) {
    std::string name = j.is_object() ? j.value("name", "") : "";
    Container* cp = find(name);
    if (!cp) throw_invalid("state.containers", "names a container the pod does not have", name);
    if (j.value("role", "") != role_name(cp->role))
      throw_invalid("state.containers", "has another role for container " + name + " than the pod");
    if (!j.value("instance", json(0)).is_number_unsigned() || !j.value("restartCount", json(0)).is_number_integer())
      throw_invalid("state.containers", "has no valid instance or restartCount for container " + name);
  }
  for (const auto& j : snap["containers"]) {
    Container& c = *find(j.value("name", ""));
    const std::string& name = c.name();
    c.instance.id = j.value("instance", drivers::InstanceId{0});
    c.instance.ever_started = j.value("everStarted", false);
    c.st.restart_count = j.value("restartCount", 0);
    c.st.started_at = from_ms(j.value("startedAtMs", json(0)));
    c.restart.succeeded = j.value("completed", false);
    c.restart.finished = now;  // a backoff counts from the adoption: the steady clock of the old host is gone
    if (j.contains("last")) c.st.last = terminated_from(j["last"]);
    if (j.contains("terminated") && j.value("state", "") == "terminated") {
      c.waiting = WaitingReason::None;
      c.st.kind = StateKind::Terminated;
      c.st.terminated = terminated_from(j["terminated"]);
    }
    if (!j.value("running", false) || !j.contains("runtime")) continue;
    std::string error;
    std::optional<drivers::StartInfo> info = driver_->adopt(*c.spec, c.instance.id, j["runtime"], error);
    c.instance.alive = true;
    c.instance.started_at = now;
    if (!info) {
      env_.log.warn("pod {}: container {} cannot be adopted: {}", spec_.name, name, error);
      on_exit(name, c.instance.id, -1, 0, d);  // gone without trace: ContainerStatusUnknown
      continue;
    }
    take_instance(c, *info);
    c.waiting = WaitingReason::None;
    c.st.kind = StateKind::Running;
    c.st.waiting_reason.clear();
    c.st.waiting_message.clear();
    // As became_running: the probes decide again (their results are not persisted).
    c.st.started = j.value("started", false) || !PodProbes::has(*c.spec, probe::ProbeType::Startup);
    c.st.ready = c.role != Role::Init && c.st.started && !PodProbes::has(*c.spec, probe::ProbeType::Readiness);
    probes_->instance_running(c, d);
  }
  for (auto& c : containers_) {
    if (c.instance.alive || !c.instance.ever_started || c.restart.succeeded) continue;
    // Exited before or while no host was there: restarted (now: its backoff was the old host's)
    // if restartPolicy says so, as when the exit happens under us.
    const TerminatedState* t = c.st.kind == StateKind::Terminated ? &c.st.terminated
                               : c.st.last                        ? &*c.st.last
                                                                  : nullptr;
    if (decide_restart(c.role, spec_.restart_policy, !t || t->exit_code != 0).restart) {
      c.restart.restart_at = now;
      if (c.st.kind == StateKind::Waiting) set_waiting(c, WaitingReason::ContainerCreating);
    }
  }
  d.push_back([this] { driver_->adoption_done(); });
  advance(d);
}

// ---- live updates -----------------------------------------------------------------------

void Lifecycle::update(const PodSpec& next, Deferred& d) {
  current_ = &next;
  for (auto& c : containers_) {
    const ContainerSpec& ns = c.spec->init ? next.init_containers[c.spec->index] : next.containers[c.spec->index];
    if (ns.raw == c.spec->raw) {
      c.spec = &ns;  // the same definition: nothing happens to it
      continue;
    }
    c.spec = &ns;
    if (c.role == Role::Init || terminating_) continue;
    if (c.instance.alive || c.instance.starting) {
      if (c.stop.phase != StopPhase::None) {
        c.restart.definition_changed = true;  // stopping already: it comes back with the new one
        continue;
      }
      c.restart.definition_changed = true;
      std::string message = "Container " + c.name() + " definition changed, will be restarted";
      if (c.instance.starting && !c.instance.alive) {
        // The driver is starting it: stopped once it runs (on_started sees the flag).
        continue;
      }
      stops_.stop(c, saturating_add(env_.clock.now(), std::chrono::milliseconds(spec_.grace_ms)),
                  KillReason::DefinitionChanged, message, d);
    } else if (c.restart.restart_at) {
      // Waiting in CrashLoopBackOff: the backoff was the old definition's.
      c.restart.backoff = Backoff(backoff_options_);
      c.restart.restart_at = env_.clock.now();
      c.restart.timer->cancel();
    }
  }
  advance(d);
}

// ---- status, shutdown -------------------------------------------------------------------

PodView Lifecycle::view() const {
  PodView v;
  v.spec = current_;
  for (const auto& c : containers_) (c.role == Role::Main ? v.main : v.init).push_back(c.st);
  v.deletion_requested = terminating_;
  v.terminal = stopped_ || (terminal_ && all_stopped());
  v.start_time = start_time_;
  v.deletion_time = deletion_time_;
  v.pod_ip = pod_ip_;
  return v;
}

std::unique_ptr<drivers::Driver> Lifecycle::release() {
  probes_->stop_all();
  for (auto& c : containers_) {
    hooks_.cancel(c);
    c.stop.timer.reset();
    c.restart.timer.reset();
  }
  return std::move(driver_);
}

}  // namespace lifehook::pod
