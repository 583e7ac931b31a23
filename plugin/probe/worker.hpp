// One probe worker per container and probe type, as the kubelet's pkg/kubelet/prober/worker.go:
// a timer on the owner's strand (no thread per probe), the first probe at once, then one per
// period on a fixed grid (a probe slower than its period delays the next tick, never doubles
// it, like Go's ticker); each tick is doProbe:
//   pod terminal -> the worker ends; no container instance yet -> wait; a new instance -> the
//   initial result (readiness Failure, liveness Success, startup Unknown) and probing resumes;
//   on hold -> skip; not running -> Failure (the worker ends unless the container restarts);
//   terminating -> liveness and startup report Success and end; younger than
//   initialDelaySeconds (whole seconds, as int32(time.Since(startedAt).Seconds())) -> skip;
//   not started -> liveness and readiness skip, started -> startup idles; else probe.
// Consecutive equal results are counted and published to the results manager only at
// successThreshold / failureThreshold. After a liveness Failure or any startup result the
// worker holds until a new container instance appears. A prober error is retried (3 attempts
// in all) and then thrown away.
//
// Lifetime: the owner holds the worker; timers and probe completions hold weak references, so a
// stopped or destroyed worker ignores them. Every method runs on the owner's strand.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "prober.hpp"
#include "results.hpp"
#include "spec.hpp"
#include "timing.hpp"

namespace lifehook::probe {

// What the worker reads of its container at every tick (the kubelet reads the pod status).
struct ContainerView {
  uint64_t instance = 0;  // 0: no instance yet (no status, or no container ID)
  bool running = false;
  Clock::time_point started_at{};
  bool started = true;       // the startup probe passed, or there is none
  bool will_restart = true;  // not running: another instance will come (the worker stays)
  bool terminal = false;     // the pod is Succeeded or Failed: the worker ends
  bool terminating = false;  // the pod is being deleted
};

class Worker : public std::enable_shared_from_this<Worker> {
 public:
  using View = std::function<ContainerView()>;
  // Every attempt, before it is counted (Unhealthy / ProbeWarning events).
  using OnAttempt = std::function<void(const Worker&, const Attempt&)>;

  // `owner` holds timing, prober and results (and the worker): a completion arriving from a
  // handler's strand keeps the owner alive while it is handed over, and is dropped once the
  // owner is gone.
  static std::shared_ptr<Worker> create(std::weak_ptr<void> owner, std::string container, ProbeSpec spec,
                                        Request request, Timing& timing, Prober& prober, Results& results, View view,
                                        OnAttempt on_attempt = {});
  ~Worker();

  void start();  // the first doProbe now, then one per period
  void stop();   // no more probes; an attempt in flight is canceled. Idempotent.
  // A new container instance started: probe at once and restart the period grid from now (the
  // kubelet's manual trigger, so a fresh container need not wait up to a period).
  void kick();

  const std::string& container() const { return container_; }
  const ProbeSpec& spec() const { return spec_; }
  ProbeType type() const { return spec_.type; }
  bool stopped() const { return stopped_; }
  bool on_hold() const { return on_hold_; }
  bool in_flight() const { return in_flight_; }
  uint64_t attempts() const { return attempts_; }  // attempts completed (counted or not)
  int tries() const { return tries_; }  // attempts of the current probe so far (a prober error is tried again)
  Verdict last_result() const { return last_result_; }
  int result_run() const { return result_run_; }
  const Attempt* last_attempt() const { return has_attempt_ ? &last_attempt_ : nullptr; }
  Verdict initial_value() const;
  static constexpr int kMaxTries = 3;  // prober.go: maxProbeRetries

 private:
  Worker(std::weak_ptr<void> owner, std::string container, ProbeSpec spec, Request request, Timing& timing,
         Prober& prober, Results& results, View view, OnAttempt on_attempt);
  void arm(Clock::time_point at);
  void on_tick();
  bool do_probe();  // false: the worker ends
  void launch();
  void on_done(uint64_t seq, Attempt a);

  const std::weak_ptr<void> owner_;
  const std::string container_;
  const ProbeSpec spec_;
  const Request request_;  // parsed once; every attempt submits this
  Timing& timing_;
  Prober& prober_;
  Results& results_;
  View view_;
  OnAttempt on_attempt_;
  std::unique_ptr<Alarm> alarm_;

  Clock::time_point next_tick_{};
  bool stopped_ = false;
  bool started_ = false;
  bool tick_pending_ = false;  // a tick came while an attempt was in flight (Go's buffered tick)
  bool in_flight_ = false;
  uint64_t flight_seq_ = 0;  // which attempt a completion belongs to
  uint64_t flight_op_ = 0;   // the prober's id of the attempt in flight (for cancel)
  int tries_ = 0;            // attempts of this probe so far (retries on prober errors)
  uint64_t instance_ = 0;
  bool on_hold_ = false;
  Verdict last_result_ = Verdict::Unknown;
  int result_run_ = 0;
  uint64_t attempts_ = 0;
  Attempt last_attempt_;
  bool has_attempt_ = false;
};

}  // namespace lifehook::probe
