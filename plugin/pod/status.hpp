// A pod's observable state as the kubelet reports it: the container statuses, the phase
// (kubelet getPhase), conditions, and the kubectl STATUS/READY/RESTARTS columns (printPod).
// Pure functions of a snapshot, so the string rules are unit-testable without processes.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "../../handlers/model.hpp"
#include "backoff.hpp"
#include "spec.hpp"

namespace lifehook::pod {

using SysTime = std::chrono::system_clock::time_point;

struct TerminatedState {
  int exit_code = 0;
  int signal = 0;
  std::string reason;  // Completed | Error | StartError | ContainerStatusUnknown
  std::string message;
  SysTime started_at;
  SysTime finished_at;
};

enum class StateKind { Waiting, Running, Terminated };

struct ContainerStatus {
  StateKind kind = StateKind::Waiting;
  std::string waiting_reason;  // ContainerCreating, PodInitializing, CrashLoopBackOff, PostStartHookError ...
  std::string waiting_message;
  SysTime started_at;  // running
  TerminatedState terminated;
  std::optional<TerminatedState> last;  // lastState.terminated
  bool ready = false;
  bool started = false;  // the kubelet's "started" (running, postStart done)
  int restart_count = 0;
};

// lastTransitionTime of each pod condition: when its status last changed, as the status manager
// keeps it (updateLastTransitionTime). The engine observes the conditions at every state change.
class ConditionTimes {
 public:
  // Sets "lastTransitionTime" on each condition of `conditions`, remembering `now` for a change.
  void stamp(json& conditions, SysTime now);

 private:
  std::vector<std::pair<std::string, std::pair<std::string, SysTime>>> last_;  // type -> (status, since)
};

struct PodView {
  const PodSpec* spec = nullptr;
  std::vector<ContainerStatus> init;  // one per spec.init_containers
  std::vector<ContainerStatus> main;  // one per spec.containers
  bool deletion_requested = false;    // terminate was called
  bool terminal = false;              // every container stopped for good (kubelet's podIsTerminal)
  std::optional<SysTime> start_time;
  std::optional<SysTime> deletion_time;
  std::string pod_ip;
  const std::vector<Finding>* warnings = nullptr;  // fields nothing implements: the status lists them
  ConditionTimes* condition_times = nullptr;       // null: every condition stamped `now`
  bool deadline_exceeded = false;                  // spec.activeDeadlineSeconds passed: Failed, reason DeadlineExceeded
  const std::vector<json>* host_conditions = nullptr;  // set by the host (lifehook_pod_set_condition)
};

inline constexpr const char* kDeadlineExceededMessage = "Pod was active on the node longer than the specified deadline";

// Pending | Running | Succeeded | Failed, per kubelet getPhase (plus: a terminal pod whose
// containers never reached a verdict is Failed, as generateAPIPodStatus does).
std::string compute_phase(const PodView& v);
// The pod conditions as the kubelet generates them (pkg/kubelet/status/generate.go), in its
// order: PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled; without
// lastTransitionTime (ConditionTimes::stamp adds it).
json build_conditions(const PodView& v, const std::string& phase);
// build_conditions, stamped: what the engine calls after every state change so that each
// lastTransitionTime is the moment of the change, not of the next status read.
void observe_conditions(const PodView& v, SysTime now);
// The whole status JSON (phase, conditions, statuses, display, podIP, hostIP, qosClass, startTime ...).
json build_status(const PodView& v, SysTime now);
// A condition a host sets (lifehook_pod_set_condition): {"type", "status", "reason"?, "message"?},
// checked as the API checks a PodCondition; the kubelet's own types are refused. Throws Error.
json parse_host_condition(std::string_view text);

// kubectl's STATUS column for a status JSON as built above (printPod).
std::string display_status(const PodSpec& spec, const json& status, bool deletion_requested);
// Go's time.Duration.String() for whole milliseconds: "500ms", "10s", "1m20s", "5m0s".
std::string go_duration(Millis d);
// kubectl's HumanDuration: "5s", "2m3s", "15m", "3h4m", "2d" ...
std::string human_duration(std::chrono::seconds d);

}  // namespace lifehook::pod
