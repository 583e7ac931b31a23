// The reasons the kubelet reports, as constants compared as enums: event reasons
// (pkg/kubelet/events/event.go), container waiting and terminated reasons
// (pkg/kubelet/kuberuntime, pkg/kubelet/images, ErrCrashLoopBackOff, ErrPostStartHook) and the
// kill reasons that pick a grace period (kuberuntime_container.go containerKillReason). Their
// names are a contract (events, status JSON): add, never rename.
#pragma once

#include <string_view>

namespace lifehook::pod {

enum class EventReason {
  Created,                // Normal  "Created container: <name>"
  Started,                // Normal  "Started container <name>"
  Failed,                 // Warning "Error: <message>" (a start failed)
  Killing,                // Normal  "Stopping container <name>" or the kill message
  FailedPostStartHook,    // Warning "PostStartHook failed"
  FailedPreStopHook,      // Warning "PreStopHook failed"
  BackOff,                // Warning "Back-off restarting failed container <name> in pod <pod>"
  Unhealthy,              // Warning "<Kind> probe failed: <message>"
  ProbeWarning,           // Warning "<Kind> probe warning: <message>"
  FailedKillPod,          // Warning "error killing pod: <message>"
  LifecycleHTTPFallback,  // Warning (httpGet hook retried over HTTP)
  ProbeRecovered,         // Normal  "<Kind> probe succeeded after N failed attempts" (lifehook's own)
  DeadlineExceeded,       // Normal  "Pod was active on the node longer than the specified deadline"
};

enum class WaitingReason {
  None,
  ContainerCreating,
  PodInitializing,
  CrashLoopBackOff,
  PostStartHookError,
};

enum class TerminatedReason {
  Completed,
  Error,
  StartError,
  ContainerStatusUnknown,
};

// Why the engine kills a running container; decides the grace (setTerminationGracePeriod) and
// the Killing message.
enum class KillReason {
  PodTermination,       // lifehook_pod_terminate / destroy (the kubelet's Unknown)
  FailedPostStartHook,  // postStart failed
  LivenessProbe,
  StartupProbe,
  SidecarsDone,       // the main containers finished: sidecars go (restartPolicy Never/OnFailure)
  DefinitionChanged,  // a live update changed the container (lifehook_pod_update): restarted
};

constexpr std::string_view name(EventReason r) {
  switch (r) {
    case EventReason::Created: return "Created";
    case EventReason::Started: return "Started";
    case EventReason::Failed: return "Failed";
    case EventReason::Killing: return "Killing";
    case EventReason::FailedPostStartHook: return "FailedPostStartHook";
    case EventReason::FailedPreStopHook: return "FailedPreStopHook";
    case EventReason::BackOff: return "BackOff";
    case EventReason::Unhealthy: return "Unhealthy";
    case EventReason::ProbeWarning: return "ProbeWarning";
    case EventReason::FailedKillPod: return "FailedKillPod";
    case EventReason::LifecycleHTTPFallback: return "LifecycleHTTPFallback";
    case EventReason::ProbeRecovered: return "ProbeRecovered";
    case EventReason::DeadlineExceeded: return "DeadlineExceeded";
  }
  return "";
}

// Normal or Warning, as the kubelet records each reason.
constexpr std::string_view event_type(EventReason r) {
  switch (r) {
    case EventReason::Created:
    case EventReason::Started:
    case EventReason::Killing:
    case EventReason::ProbeRecovered:
    case EventReason::DeadlineExceeded: return "Normal";
    default: return "Warning";
  }
}

constexpr std::string_view name(WaitingReason r) {
  switch (r) {
    case WaitingReason::None: return "";
    case WaitingReason::ContainerCreating: return "ContainerCreating";
    case WaitingReason::PodInitializing: return "PodInitializing";
    case WaitingReason::CrashLoopBackOff: return "CrashLoopBackOff";
    case WaitingReason::PostStartHookError: return "PostStartHookError";
  }
  return "";
}

constexpr std::string_view name(TerminatedReason r) {
  switch (r) {
    case TerminatedReason::Completed: return "Completed";
    case TerminatedReason::Error: return "Error";
    case TerminatedReason::StartError: return "StartError";
    case TerminatedReason::ContainerStatusUnknown: return "ContainerStatusUnknown";
  }
  return "";
}

}  // namespace lifehook::pod
