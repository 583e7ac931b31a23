// A standalone probe for runtimes and agents that own their containers elsewhere (the podman
// healthcheck case without systemd timers): one worker, the same code pods use, probing a target
// the host describes, and a callback on every change of the published result.
//
// The probe's container is taken as running since start(): initialDelaySeconds counts from
// there; a startup probe gates nothing but itself. As the kubelet's worker, after a liveness
// failure or any startup result is published the probe holds (the host restarts its container
// and starts a new probe for it).
//
// Threading and ownership: the worker runs on its own strand of the context's loop. Callbacks
// run on that strand, one at a time, never with a library lock held (a callback may call
// state()). close() marks the probe closed and waits until a callback that is running has
// returned (unless it is called from that callback), so no callback starts after close returns;
// the object itself lives on (held by shared_ptr) until queued completions have drained.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "prober.hpp"
#include "results.hpp"
#include "spec.hpp"
#include "timing.hpp"
#include "worker.hpp"

namespace lifehook::probe {

struct StandaloneSpec {
  ProbeSpec probe;
  Target target;
};

// probe JSON: exactly one of {"livenessProbe": Probe}, {"readinessProbe": Probe},
// {"startupProbe": Probe}; target JSON: the request's target (podIP, ports, env, pid, netns, ...).
// Errors name the path ("readinessProbe.periodSeconds: ...", "target.podIP: ...").
StandaloneSpec parse_standalone(std::string_view probe_json, std::string_view target_json);

class Standalone : public std::enable_shared_from_this<Standalone> {
 public:
  using Callback = std::function<void(const std::string& state_json)>;
  static std::shared_ptr<Standalone> create(Context& ctx, StandaloneSpec spec, Callback cb);
  ~Standalone();

  void start();
  // The state JSON (any thread): {"type", "result", "onHold", "attempts", "consecutive",
  // "lastAttempt", "stopped"}.
  std::string state_json() const;
  // No callback starts after this returns (see above); the worker stops on its strand.
  void close();

 private:
  Standalone(Context& ctx, StandaloneSpec spec, Callback cb);
  void on_result(Verdict v);
  void refresh();  // snapshot of the worker's state, on the strand
  json snapshot_locked() const;

  Context& ctx_;
  const StandaloneSpec spec_;
  Callback cb_;
  AsioTiming timing_;
  ContextProber prober_;
  Results results_;
  std::shared_ptr<Worker> worker_;
  Clock::time_point started_at_{};

  mutable std::mutex mu_;
  std::condition_variable idle_;
  bool closed_ = false;
  std::thread::id delivering_{};
  // The state as last seen on the strand (state_json reads it from any thread).
  Verdict result_ = Verdict::Unknown;
  bool on_hold_ = false;
  uint64_t attempts_ = 0;
  Verdict run_result_ = Verdict::Unknown;
  int run_ = 0;
  std::optional<Attempt> last_;
};

}  // namespace lifehook::probe
