// The per-pod lifecycle engine: the kubelet's node-side behaviour for one pod (init containers
// strictly in order, sequential main starts with postStart, crash-loop backoff, termination
// with preStop and one monotonic deadline, phase/status/events).
//
// Threading: the state machine runs on one strand of the context's event loop (no thread per
// pod or container; every wait is a timer or an async completion). mu_ guards the state for
// the readers on other threads (status, wait, terminate). Driver calls and event delivery
// happen with mu_ released, so driver and watcher callbacks may call lifehook_pod_status.
// Every queued callback holds only a weak reference: a pod that is gone ignores late
// completions (hooks, timers, exits).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../context.hpp"
#include "../drivers/driver.hpp"
#include "backoff.hpp"
#include "events.hpp"
#include "spec.hpp"
#include "status.hpp"

namespace lifehook::pod {

struct PodOptions {
  std::string driver = "process";
  BackoffOptions backoff;
  json raw = json::object();  // the whole options object: a driver reads its own fields (oci: runtime, root, ...)
};

// Parses lifehook_pod_create options JSON (NULL/empty = defaults). Errors name options.<field>.
PodOptions parse_pod_options(const char* options_json);

// Makes the driver for a pod once the engine knows where exits go.
using DriverFactory = std::function<std::unique_ptr<drivers::Driver>(drivers::DriverEnv)>;

class Pod : public std::enable_shared_from_this<Pod> {
 public:
  // Validates (spec against the driver too) and builds; nothing runs before start().
  static std::shared_ptr<Pod> create(Context& ctx, PodSpec spec, PodOptions options, DriverFactory make_driver);
  ~Pod();

  void start();
  // Blocks until every container has stopped. grace_ms < 0: the spec's grace.
  void terminate(int64_t grace_ms);
  // False when the timeout (ms, < 0 = forever) passed before the pod was Succeeded/Failed/terminated.
  bool wait(int64_t timeout_ms);
  std::string status_json();
  void watch(lifehook_event_fn fn, void* user) { events_->watch(fn, user); }
  // A host driver's report. Throws Error(LIFEHOOK_E_NOT_FOUND) for an unknown container.
  void container_exited(const std::string& name, int exit_code, int signal);
  // terminate(0), then stop all callbacks and release the driver and timers. Idempotent.
  void shutdown();

  const PodSpec& spec() const { return spec_; }

 private:
  enum class Hook { None, PostStart, PreStop };
  enum class Stop { None, PreStop, Signaled, Killed };

  struct Container {
    const ContainerSpec* spec = nullptr;
    ContainerStatus st;
    Backoff backoff;
    drivers::InstanceId instance = 0;  // bumps at every start (1, 2, ...); late completions of older ones are ignored
    bool ever_started = false;
    bool alive = false;      // an instance started and has not exited yet
    bool starting = false;   // in the start pipeline: driver start or postStart in flight
    bool succeeded = false;  // init container done for good
    Hook hook = Hook::None;
    uint64_t hook_op = 0;
    Target target;
    Clock::time_point finished{};  // steady time of the last exit (backoff)
    std::optional<Clock::time_point> restart_at;
    std::optional<std::pair<int, int>> early_exit;  // a host reported the exit before its start completed
    bool post_start_failed = false;
    std::string post_start_message;
    // stop sequence
    Stop stop = Stop::None;
    Clock::time_point deadline{};
    Clock::time_point signal_time{};
    uint64_t stop_gen = 0;  // a rearmed stop timer invalidates a firing that was already queued
    std::unique_ptr<boost::asio::steady_timer> stop_timer;
    std::unique_ptr<boost::asio::steady_timer> restart_timer;
  };

  // Deferred work run after mu_ is released, still on the strand (driver calls).
  using Deferred = std::vector<std::function<void()>>;

  Pod(Context& ctx, PodSpec spec, PodOptions options);
  template <class F>
  void on_strand(F f);
  void run_locked(const std::function<void(Deferred&)>& body);

  Container* find(const std::string& name);
  void advance(Deferred& d);
  void start_container(Container& c, Deferred& d);
  void on_started(const std::string& name, uint64_t instance, std::optional<drivers::StartInfo> info, std::string error,
                  Deferred& d);
  void became_running(Container& c, Deferred& d);
  void run_hook(Container& c, Hook kind, const HandlerSpec& h, Deferred& d);
  void on_hook_done(const std::string& name, uint64_t instance, uint64_t op, Hook kind, const Result& r, Deferred& d);
  void on_exit(const std::string& name, drivers::InstanceId instance, int exit_code, int signal, Deferred& d);
  void instance_ended(Container& c, Deferred& d);
  void begin_stop(Container& c, Clock::time_point deadline, const std::string& message, Deferred& d);
  void move_deadline(Container& c, Clock::time_point deadline, Deferred& d);
  void send_stop_signal(Container& c, Deferred& d);
  void kill_now(Container& c, Deferred& d);
  void arm_stop_timer(Container& c, Clock::time_point at);
  void on_stop_timer(Container& c, Deferred& d);
  void do_terminate(int64_t grace_ms, Clock::time_point requested, Deferred& d);
  void cancel_hook(Container& c);
  void update_terminal();
  // After anything stopped (a container, a hook): a terminating pod with nothing left running or
  // being killed is stopped (terminate returns); then whether the pod became terminal.
  void settle();
  void emit(const std::string& type, const std::string& reason, const std::string& message,
            const std::string& container);
  std::string default_waiting_reason() const;
  PodView view() const;
  bool all_stopped() const;

  Context& ctx_;
  const PodSpec spec_;
  const PodOptions options_;
  Strand strand_;
  std::shared_ptr<EventLog> events_;
  std::unique_ptr<drivers::Driver> driver_;
  std::vector<Container> init_;
  std::vector<Container> main_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  bool started_ = false;
  bool busy_ = false;  // one container start (with its postStart) at a time, as SyncPod does
  bool terminating_ = false;
  bool stopped_ = false;  // terminating, every container stopped and every hook process reaped
  // Hooks submitted and not yet completed, canceled ones included: a canceled hook's processes
  // are still being killed, and terminate must not return before they are gone.
  int hooks_in_flight_ = 0;
  bool terminal_ = false;  // Succeeded/Failed, or stopped
  bool detached_ = false;
  bool host_reports_exits_ = false;  // lifehook_pod_container_exited is how exits arrive
  Clock::time_point pod_deadline_{};
  std::optional<SysTime> start_time_;
  std::optional<SysTime> deletion_time_;
  std::string pod_ip_;
};

}  // namespace lifehook::pod
