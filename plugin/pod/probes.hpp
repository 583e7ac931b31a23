// The probes of a pod's containers — the home of liveness, readiness and startup inside a pod, as
// the kubelet's prober_manager.go: one probe::Worker per running container instance and probe type
// (plugin/probe/worker.hpp), one results manager, the probe events, and what a published result
// means, which the engine applies (ProbeActions, implemented by the Lifecycle):
//   - readiness -> the container's `ready` (running, started and the last readiness result Success;
//     a container without a readiness probe is ready once started);
//   - startup -> the container's `started` (without a startup probe: once running); until then
//     liveness and readiness do not probe; a startup Failure kills the container;
//   - liveness Failure -> the container is killed and, unless restartPolicy is Never, restarted.
// Events (prober.go): Unhealthy for every failed attempt ("Liveness probe failed: <output>"),
// ProbeWarning, "... probe errored and resulted in unknown state: ..." after the last retry of a
// prober error, and — where the kubelet is silent (kubernetes#53817) — a Normal ProbeRecovered when
// a probe succeeds again after failed attempts.
//
// Workers are made when an instance is running (its postStart done), with that instance's target,
// and dropped when it exits: a new instance gets new workers (the kubelet's new container ID: the
// initial result, onHold cleared, the first probe at once).
//
// Ownership: the Lifecycle holds PodProbes through a shared_ptr. Workers hold a weak reference to
// it: a probe completion keeps it alive while it is handed to the pod's strand, a PodProbes that is
// gone drops it. Every worker callback (timer, completion) runs on the pod's strand under the pod's
// lock through ProbeEnv (a pod that is gone or detached drops it too). After stop_all() (the pod's
// release) no worker runs and ProbeActions is never called again.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../common/clock.hpp"
#include "../probe/prober.hpp"
#include "../probe/results.hpp"
#include "../probe/worker.hpp"
#include "container.hpp"
#include "reasons.hpp"
#include "stop_sequence.hpp"

namespace lifehook::pod {

// What the probes need of the engine; every call is made on the pod's strand, under its lock.
class ProbeActions {
 public:
  virtual ~ProbeActions() = default;
  // The container as a worker sees it at each tick.
  virtual probe::ContainerView probe_view(const std::string& container) = 0;
  // A published result changed (last: the attempt that decided it; null for an initial value).
  virtual void probe_result(const std::string& container, probe::ProbeType type, probe::Verdict v,
                            const probe::Attempt* last, Deferred& d) = 0;
  virtual void probe_event(EventReason reason, const std::string& message, const std::string& container) = 0;
};

// Where probe work runs: later (a completion) or now (a timer firing, already on the strand), each
// under the pod's lock with the batch of driver calls that run after it.
struct ProbeEnv {
  lifehook::Clock& clock;
  lifehook::Clock::Executor strand;
  std::function<void(std::function<void(Deferred&)>)> post;
  std::function<void(const std::function<void(Deferred&)>&)> run_locked;
  probe::Prober& prober;
};

class PodProbes : public std::enable_shared_from_this<PodProbes> {
 public:
  static std::shared_ptr<PodProbes> create(ProbeEnv env, ProbeActions& actions);
  ~PodProbes();

  static const std::optional<probe::ProbeSpec>& spec_of(const ContainerSpec& c, probe::ProbeType t);
  static bool has(const ContainerSpec& c, probe::ProbeType t) { return spec_of(c, t).has_value(); }

  // c's current instance runs (its postStart done): its workers start, against its target.
  void instance_running(const Container& c, Deferred& d);
  // c's instance exited: its workers stop and its results are forgotten.
  void instance_stopped(const std::string& container);
  // The startup probe passed: liveness and readiness probe at once (the kubelet's manual trigger).
  void started(const std::string& container, Deferred& d);
  // No worker runs after this (the pod's release). Idempotent.
  void stop_all();

 private:
  class EngineTiming;
  PodProbes(ProbeEnv env, ProbeActions& actions);
  void on_attempt(const probe::Worker& w, const probe::Attempt& a);
  // Runs fn with `d` as the batch that results published meanwhile add their driver calls to.
  void with_batch(Deferred& d, const std::function<void()>& fn);

  ProbeEnv env_;
  ProbeActions& actions_;
  std::unique_ptr<probe::Timing> timing_;
  probe::Results results_;
  std::map<std::string, std::vector<std::shared_ptr<probe::Worker>>> workers_;
  // Failed attempts since the last success, per container and probe (for ProbeRecovered).
  std::map<std::pair<std::string, probe::ProbeType>, int> failed_attempts_;
  Deferred* batch_ = nullptr;  // the driver-call batch of the work running now
  bool stopped_ = false;
};

}  // namespace lifehook::pod
