// How the pod engine owns containers without knowing what they are. A driver starts, signals,
// kills and removes the containers of ONE pod; it reports every exit through the ExitSink it was
// given. The engine decides everything else (order, hooks, deadlines, restarts), so a new runtime
// (an `oci` driver running runc containers in a pod network namespace, exec inside the container)
// is one more file in plugin/drivers/ plus one line in its registry.cpp. The interface lives here,
// with the engine that calls it: the drivers implement it (they are built above the engine, which
// never includes them; plugin/pod_api.cpp hands the engine a factory).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../../handlers/model.hpp"
#include "lifehook/lifehook.h"
#include "spec.hpp"
#include "termination_message.hpp"

namespace lifehook {
class Context;
}

namespace lifehook::drivers {

// What a started container tells the engine; used for the hooks' target.
struct StartInfo {
  std::optional<int> pid;  // host pid of the container's main process
  std::string pod_ip;      // empty: the engine uses 127.0.0.1 (host network)
  std::string bundle;      // OCI bundle (container exec), for runtimes that have one
  std::string exec_mode;   // how exec hooks run: "" / "host" / "container" / "runtime"
  std::string cgroup;      // cgroup v2 path exec hooks should join (empty: their own)
  json record;             // what adopt() needs to take the instance over later (null: not adoptable)
};

// Which start of a container a call is about. The engine numbers the starts of each container
// (1, 2, ...); a driver keeps every instance apart by (name, instance) and acts only on the one
// it is told: a signal, kill or removal meant for an instance that is gone is a no-op, never a
// call on whatever holds the name by then (a restart registers the next instance while the
// removal of the previous one may still be queued).
using InstanceId = uint64_t;

// Called exactly once per start that succeeded, when that container instance has exited (and,
// for local processes, been reaped). exit_code: 0..255, 128+signal when killed; signal: 0 or
// the signal that killed it. May be called from any thread, also from inside a driver call.
using ExitSink = std::function<void(const std::string& container, InstanceId instance, int exit_code, int signal)>;

// Result of a start: StartInfo on success, otherwise an error message. Delivered exactly once,
// from any thread, possibly before start() returns.
using StartDone = std::function<void(std::optional<StartInfo> info, std::string error)>;

struct DriverEnv {
  Context& ctx;
  const pod::PodSpec& pod;  // outlives the driver
  ExitSink on_exit;
};

class Driver {
 public:
  virtual ~Driver() = default;  // kills and reaps (or removes) whatever is still running; blocking

  virtual const char* name() const = 0;
  // Rejects pods this driver cannot run (Error(LIFEHOOK_E_INVALID) naming the JSON path).
  virtual void validate(const pod::PodSpec& pod) const = 0;
  // The Container fields beyond the engine's own that this driver acts on, as paths relative to
  // the Container ("securityContext.runAsUser"; "spec.X" for a Pod spec field). Every other
  // field is a warning of lifehook_pod_validate and in the status (plugin/pod/validate.cpp).
  virtual std::vector<std::string> implemented_fields() const { return {}; }
  // Starts one container instance. A start may take time (pulling, runc): it may complete later.
  virtual void start(const pod::ContainerSpec& c, InstanceId instance, StartDone done) = 0;
  // Sends a signal to the instance's main process (the stop signal). Never blocks for long.
  virtual void signal(const std::string& container, InstanceId instance, int signo) = 0;
  // SIGKILL to everything of the instance (the whole process tree / cgroup).
  virtual void kill(const std::string& container, InstanceId instance) = 0;
  // Releases what is left of an exited (or never started) instance, before a restart and at the end.
  virtual void remove(const std::string& container, InstanceId instance) = 0;
  // True when exits arrive through the ExitSink by the driver itself; false when the host
  // reports them (lifehook_pod_container_exited).
  virtual bool reports_exits() const = 0;
  // Adoption (lifehook_pod_adopt): a later host takes over the containers of this one. False
  // when this driver's containers die with their host (the process driver's).
  virtual bool can_adopt() const { return false; }
  // Takes over an instance a previous host started, from its StartInfo::record: its exit is then
  // reported through the ExitSink as for one started here (soon after, when it ended meanwhile).
  // Nullopt, with `error`, when nothing of it is left to take over.
  virtual std::optional<StartInfo> adopt(const pod::ContainerSpec& c, InstanceId instance, const json& record,
                                         std::string& error) {
    (void)c, (void)instance, (void)record;
    error = std::string("driver ") + name() + " cannot adopt containers";
    return std::nullopt;
  }
  // After the adoptions: releases what a previous host left that no adopted instance holds.
  virtual void adoption_done() {}
  // The termination message file (terminationMessagePath) an exited instance left, before its
  // removal: at most its last `max` bytes, read without blocking or following a link out of the
  // container. Called on the pod's strand (not the driver's), under the pod's lock: bounded, and
  // safe against the driver's own threads. The default: the driver has no such file.
  virtual pod::MessageFile termination_message_file(const pod::ContainerSpec&, InstanceId, size_t /*max*/) {
    return {};
  }
  // The end of an exited instance's output (stdout and stderr), at most `max` bytes, for
  // terminationMessagePolicy FallbackToLogsOnError; nullopt when the driver keeps none. Called as
  // termination_message_file.
  virtual std::optional<std::string> log_tail(const pod::ContainerSpec&, InstanceId, size_t /*max*/) {
    return std::nullopt;
  }
  // Where hooks of this container run: the engine fills env/workingDir/ports/podIP from the spec
  // and StartInfo; a driver may add more (pid, bundle, exec mode, cgroup).
  virtual void fill_target(const pod::ContainerSpec&, const StartInfo& info, Target& t) const {
    t.pid = info.pid;
    t.bundle = info.bundle;
    t.exec_mode = info.exec_mode;
    t.cgroup = info.cgroup;
  }
};

// Built-in drivers by name ("process"); Error(LIFEHOOK_E_INVALID) naming options.driver otherwise.
std::unique_ptr<Driver> make_builtin_driver(const std::string& name, DriverEnv env, const json& options);

// The adapter for a host's lifehook_driver of C callbacks (copied; validated).
std::unique_ptr<Driver> make_host_driver(const lifehook_driver& callbacks, DriverEnv env);

}  // namespace lifehook::drivers
