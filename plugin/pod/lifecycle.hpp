// The pod's lifecycle state machine, free of threads and locks: it reacts to the facade's calls
// (start, terminate), to driver completions (started, exited), hook completions and timers, and
// decides through the sequencer (what to start), restart.hpp (whether and when to restart),
// StopSequence (how to stop), Hooks (postStart/preStop) and PodProbes (liveness, readiness,
// startup). Its environment is injected
// (LifecycleEnv): the clock and timers, where later work is queued, the hook executor and the
// event sink — the pod facade (pod.hpp) gives the real ones (strand, mutex, context), the
// simulated-time tests fakes, so ordering, backoff and grace arithmetic are tested exactly.
//
// Every method runs with the facade's lock held, on its strand (or the test's thread). Driver
// calls are not made directly: they are appended to the Deferred batch, which the caller runs
// after releasing the lock (so driver callbacks may call back into the pod API).
#pragma once

#include <spdlog/logger.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../common/clock.hpp"
#include "container.hpp"
#include "driver.hpp"
#include "events.hpp"
#include "hooks.hpp"
#include "probes.hpp"
#include "status.hpp"
#include "stop_sequence.hpp"

namespace lifehook::pod {

class Lifecycle;
using Work = std::function<void(Lifecycle&, Deferred&)>;

struct LifecycleEnv {
  lifehook::Clock& clock;
  lifehook::Clock::Executor strand;             // where timers call back
  std::function<void(Work)> post;               // runs work later, under the lock
  std::function<void(const Work&)> run_locked;  // runs work now (from a timer), under the lock
  HookExecutor& hook_executor;
  std::function<void(Event)> emit;
  spdlog::logger& log;
  probe::Prober& prober;  // runs probe attempts (the context's handlers, or a test's fake)
};

// lifehook_pod_container_exited names no instance: it is about the current one.
inline constexpr drivers::InstanceId kCurrentInstance = 0;

class Lifecycle : private StopActions, private ProbeActions {
 public:
  Lifecycle(const PodSpec& spec, BackoffOptions backoff, LifecycleEnv env);
  ~Lifecycle() override;
  void set_driver(std::unique_ptr<drivers::Driver> driver) { driver_ = std::move(driver); }
  drivers::Driver& driver() { return *driver_; }

  // The facade's calls. mark_started (under the lock, any thread), then advance on the strand.
  void mark_started();
  // Starts what the sequencer says is next (also after each change that may allow a start).
  void advance(Deferred& d);
  // grace in ms from `requested`; saturates. A second call can only shorten the deadline.
  void terminate(int64_t grace_ms, lifehook::Clock::TimePoint requested, Deferred& d);
  // Driver and host reports.
  void on_started(const std::string& name, drivers::InstanceId instance, std::optional<drivers::StartInfo> info,
                  std::string error, Deferred& d);
  void on_exit(const std::string& name, drivers::InstanceId instance, int exit_code, int signal, Deferred& d);
  // Persistence (lifehook_pod_adopt): what a later host needs to resume this pod, as JSON: per
  // container its instance, role, state, times, exit code, restart count, whether a regular init
  // container is done, and the driver's record of a running instance.
  json snapshot() const;
  // Instead of mark_started/advance, for a pod adopted from a snapshot(): the containers resume
  // where they were (a completed init container is not run again), running instances are taken
  // over from the driver (their exits, also one that happened meanwhile, come as usual), then
  // the sequencer goes on. Throws Error(LIFEHOOK_E_INVALID) for a snapshot that does not fit the spec.
  void restore(const json& snapshot, Deferred& d);
  // A live update (lifehook_pod_update), already checked by check_update (update.hpp): `next`
  // (which outlives the pod, as every earlier definition) becomes the definition. A running
  // regular container or sidecar whose definition changed is stopped with its hooks and the pod's
  // grace and started again at once, whatever the restartPolicy (computePodActions: "Container X
  // definition changed, will be restarted"); one waiting to restart starts at once with the new
  // one (the backoff is per definition); regular init containers and containers done for good are
  // left alone (the new definition serves a later start, if any).
  void update(const PodSpec& next, Deferred& d);
  // The definition the containers run by now: the pod's, or the last update's.
  const PodSpec& definition() const { return *current_; }
  // Releases timers and cancels hooks (shutdown, on the strand); then the driver is destroyed.
  std::unique_ptr<drivers::Driver> release();

  bool started() const { return started_; }
  bool terminating() const { return terminating_; }
  bool stopped() const { return stopped_; }  // terminating and everything stopped
  bool terminal() const { return terminal_; }
  bool has_container(const std::string& name) const;
  PodView view() const;

 private:
  Container* find(const std::string& name);
  void start_container(Container& c, Deferred& d);
  // The target of the instance the driver started (or adopted): where its hooks and probes run.
  void take_instance(Container& c, const drivers::StartInfo& info);
  void became_running(Container& c, Deferred& d);
  void run_hook(Container& c, HookKind kind, const HandlerSpec& h);
  void on_hook_done(const std::string& name, drivers::InstanceId instance, uint64_t op, HookKind kind, const Result& r,
                    Deferred& d);
  void instance_ended(Container& c, Deferred& d);
  void set_waiting(Container& c, WaitingReason reason, std::string message = {});
  void update_terminal();
  // After anything stopped (a container, a hook): a terminating pod with nothing left running or
  // being killed is stopped (terminate returns); then whether the pod became terminal.
  void settle();
  bool all_stopped() const;
  void emit(EventReason reason, const std::string& message, const std::string& container);
  WaitingReason default_waiting_reason() const;
  template <class F>
  void each(F f) {
    for (auto& c : containers_) f(c);
  }

  // StopActions: what the stop sequence asks for.
  TimePoint now() const override { return env_.clock.now(); }
  void killing_event(Container& c, const std::string& message) override;
  void run_pre_stop(Container& c) override;
  void cancel_hook(Container& c) override { hooks_.cancel(c); }
  void pre_stop_timed_out(Container& c) override;
  void send_signal(Container& c, int signo, Deferred& d) override;
  void send_kill(Container& c, Deferred& d) override;
  void exit_lost(Container& c, Deferred& d) override;
  void arm_stop_timer(Container& c, TimePoint at) override;
  void cancel_stop_timer(Container& c) override { c.stop.timer->cancel(); }

  // ProbeActions: what the probes report.
  probe::ContainerView probe_view(const std::string& name) override;
  void probe_result(const std::string& name, probe::ProbeType type, probe::Verdict v, const probe::Attempt* last,
                    Deferred& d) override;
  void probe_event(EventReason reason, const std::string& message, const std::string& container) override {
    emit(reason, message, container);
  }
  // A liveness or startup probe failed: the container is stopped (the probe's grace, else the
  // pod's) and restarted unless restartPolicy is Never (computePodActions).
  void kill_for_probe(Container& c, probe::ProbeType type, Deferred& d);

  // Sidecars stop last: after every main and regular init container has exited, in reverse
  // declaration order, each once the ones declared after it have exited (kubernetes#120620),
  // within the pod's deadline. Runs when the pod terminates or its main containers are done for
  // good (restartPolicy Never/OnFailure: the sidecars then go, and only the main containers decide
  // the phase).
  void stop_next_sidecar(Deferred& d);
  bool main_containers_done() const;

  const PodSpec& spec_;     // the pod-level fields (a live update never changes them)
  const PodSpec* current_;  // the latest definition (the containers' specs point into it)
  BackoffOptions backoff_options_;
  LifecycleEnv env_;
  std::unique_ptr<drivers::Driver> driver_;
  Hooks hooks_;
  StopSequence stops_;
  std::shared_ptr<PodProbes> probes_;
  std::vector<Container> containers_;  // init containers, then main ones, in spec order

  bool started_ = false;
  bool busy_ = false;  // one container start (with its postStart) at a time, as SyncPod does
  bool terminating_ = false;
  bool initialized_ = false;  // the init sequence completed once
  bool completing_ = false;   // the main containers are done for good: the sidecars are being stopped
  lifehook::Clock::TimePoint sidecar_deadline_{};  // the deadline of sidecar stops (pod's or completion's)
  bool stopped_ = false;                           // terminating, every container stopped and every hook process reaped
  bool terminal_ = false;                          // Succeeded/Failed, or stopped
  lifehook::Clock::TimePoint pod_deadline_{};
  std::optional<SysTime> start_time_;
  std::optional<SysTime> deletion_time_;
  std::string pod_ip_;
};

}  // namespace lifehook::pod
