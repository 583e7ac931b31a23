// The pod facade: the object behind a lifehook_pod handle. It owns the pod's strand, its mutex
// and its event log, and runs the lifecycle state machine (lifecycle.hpp) there: every call and
// every completion is posted to the strand, runs under mu_, and the driver calls it produced run
// after mu_ is released (so driver and watcher callbacks may call lifehook_pod_status). No thread
// per pod or container: every wait is a timer or an async completion.
//
// Ownership: every queued callback (driver completions, hooks, timers) holds only a weak
// reference to the Pod: a pod that is gone ignores late completions. shutdown() releases the
// timers, hooks and the driver on the strand before the Pod can go.
//
// Beside the state machine the facade keeps what the kubelet keeps outside its runtime manager:
// the warnings of the spec (fields nothing implements, plugin/pod/validate.hpp), the conditions a
// host sets (readinessGates), each condition's lastTransitionTime (observed after every change)
// and spec.activeDeadlineSeconds (pkg/kubelet/active_deadline.go).
#pragma once

#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../context/context.hpp"
#include "../os/fd.hpp"
#include "backoff.hpp"
#include "driver.hpp"
#include "events.hpp"
#include "hooks.hpp"
#include "lifecycle.hpp"
#include "spec.hpp"
#include "status.hpp"

namespace lifehook::pod {

struct PodOptions {
  std::string driver = "process";
  BackoffOptions backoff;
  std::string state_dir;      // podStateDir: where the pod's state is persisted (lifehook_pod_adopt); "" = nowhere
  json raw = json::object();  // the whole options object: a driver reads its own fields (oci: runtime, root, ...)
};

// Parses lifehook_pod_create options JSON (NULL/empty = defaults). Errors name options.<field>.
PodOptions parse_pod_options(const char* options_json);

// Makes the driver for a pod once the engine knows where exits go.
using DriverFactory = std::function<std::unique_ptr<drivers::Driver>(drivers::DriverEnv)>;

class Pod : public std::enable_shared_from_this<Pod> {
 public:
  // Validates (spec against the driver too) and builds; nothing runs before start().
  // adopting: for adopt() (the state directory may hold a state then).
  static std::shared_ptr<Pod> create(Context& ctx, PodSpec spec, PodOptions options, DriverFactory make_driver,
                                     bool adopting = false);
  ~Pod();

  void start();
  // lifehook_pod_adopt: the pod persisted in `state_dir` (options.podStateDir of the host that
  // created it), resumed: `options` replace the persisted ones field by field. Throws
  // Error(LIFEHOOK_E_NOT_FOUND) when there is no state, LIFEHOOK_E_INVALID when it is not one
  // lifehook wrote, LIFEHOOK_E_UNSUPPORTED when the driver cannot adopt, LIFEHOOK_E_STATE when
  // another process holds the directory.
  static std::shared_ptr<Pod> adopt(Context& ctx, const std::string& state_dir, const json& options,
                                    const std::function<DriverFactory(const PodOptions&)>& factory_for);
  // The name of the state file in a pod's state directory.
  static constexpr const char* kStateFile = "pod.json";
  static constexpr size_t kMaxStateBytes = size_t{16} << 20;
  // Blocks until every container has stopped. grace_ms < 0: the spec's grace; saturates.
  void terminate(int64_t grace_ms);
  // False when the timeout (ms, < 0 = forever; centuries are forever) passed before the pod was
  // Succeeded/Failed/terminated.
  bool wait(int64_t timeout_ms);
  std::string status_json();
  // A condition the host sets (lifehook_pod_set_condition), as parse_host_condition returns it.
  // Throws Error(LIFEHOOK_E_INVALID) past kMaxHostConditions distinct types.
  void set_condition(json condition);
  static constexpr size_t kMaxHostConditions = 64;
  void watch(lifehook_event_fn fn, void* user) { events_->watch(fn, user); }
  // A live update (lifehook_pod_update): check_update's rules (update.hpp), the driver's checks,
  // then the engine restarts what changed (Lifecycle::update). Throws Error(LIFEHOOK_E_INVALID)
  // naming the field, or Error(LIFEHOOK_E_STATE) for a pod that is terminating or done.
  void update(PodSpec next);
  // A host driver's report. Throws Error(LIFEHOOK_E_NOT_FOUND) for an unknown container.
  void container_exited(const std::string& name, int exit_code, int signal);
  // terminate(0), then stop all callbacks and release the driver and timers. Idempotent.
  void shutdown();

  const PodSpec& spec() const { return spec_; }

 private:
  Pod(Context& ctx, PodSpec spec, PodOptions options);
  // Runs work on the strand later, under mu_ (a no-op once the pod is gone or detached).
  void post(Work work);
  // Runs work now (the caller is on the strand), under mu_, then its driver calls.
  void run_locked(const Work& work);
  // The lifecycle's view with what the facade keeps (under mu_).
  PodView view() const;
  // spec.activeDeadlineSeconds, counted from startTime: past it the pod is Failed with reason
  // DeadlineExceeded and its containers are stopped with the pod's grace (not deleted).
  void arm_active_deadline();
  // Counted from when arm_active_deadline first ran; re-armed by an update that sets or shortens it.
  void rearm_active_deadline();
  void on_active_deadline(Lifecycle& l, Deferred& d);
  // The state directory: locked for this process (flock, released by the kernel when it dies)
  // and refused when it holds another pod's state and we are not adopting it.
  void claim_state_dir(bool adopting);
  // The persisted document (under mu_); "" without a state directory.
  std::string state_document() const;
  // Writes `doc` if it changed since the last write (on the strand, under mu_).
  void persist(const std::string& doc);

  Context& ctx_;
  const PodSpec spec_;
  const PodOptions options_;
  Strand strand_;
  std::shared_ptr<EventLog> events_;
  ContextHookExecutor hook_executor_;
  probe::ContextProber prober_;
  std::unique_ptr<Lifecycle> lifecycle_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  bool detached_ = false;
  // The lifecycle's stopped()/terminal() as of the end of the last batch, driver calls included.
  bool stopped_ = false;
  bool terminal_ = false;
  bool host_reports_exits_ = false;           // lifehook_pod_container_exited is how exits arrive
  std::vector<Finding> warnings_;             // fields nothing implements (plugin/pod/validate.hpp); set once at create
  std::vector<json> host_conditions_;         // under mu_
  mutable ConditionTimes condition_times_;    // under mu_; stamped by every state change and status read
  std::unique_ptr<Timer> deadline_timer_;     // spec.activeDeadlineSeconds; on the strand
  bool deadline_exceeded_ = false;            // under mu_
  std::optional<SysTime> deletion_time_;      // under mu_: when terminate/destroy was called
  UniqueFd state_lock_;                       // the flock on <state_dir>/.lock
  std::string persisted_;                     // the last document written (on the strand)
  bool persist_failed_ = false;               // logged once
  std::optional<int64_t> active_deadline_s_;  // under mu_: the spec's, or what an update set
  std::optional<lifehook::Clock::TimePoint> deadline_from_;  // under mu_: startTime on the steady clock
  // Every later definition, oldest first (under mu_): the engine's containers and whatever is
  // still in flight (a hook, a driver start) may refer to any of them, so none is freed before the pod.
  std::list<PodSpec> updates_;
};

}  // namespace lifehook::pod
