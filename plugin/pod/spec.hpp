// The parts of a Kubernetes v1 Pod that matter on a node, parsed and validated up front so the
// lifecycle engine never starts on bad input. Every error names the JSON path and the value
// (e.g. "spec.containers[1].name: duplicate name (got "web")"). Fields the engine does not use are
// not errors here; plugin/pod/validate.hpp lists them as warnings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../../handlers/model.hpp"
#include "../probe/spec.hpp"
#include "lifehook/lifehook.h"

namespace lifehook::pod {

// One finding of validation: where (a JSON path such as "spec.containers[0].name"; "pod" for the
// document) and what is wrong or ignored. status is the code lifehook_pod_create would return.
struct Finding {
  std::string path;
  std::string message;
  lifehook_status status = LIFEHOOK_E_INVALID;
};

enum class RestartPolicy { Always, OnFailure, Never };

// terminationMessagePolicy: File reads only terminationMessagePath; FallbackToLogsOnError uses the
// end of the container's output when it failed and left no message (plugin/pod/termination_message.hpp).
enum class TerminationMessagePolicy { File, FallbackToLogsOnError };

struct ContainerSpec {
  std::string name;
  std::string path;  // JSON path of this container, e.g. "spec.initContainers[0]" (for messages)
  bool init = false;
  // An init container with restartPolicy: Always (a sidecar, Kubernetes 1.29+).
  bool restartable = false;
  size_t index = 0;  // position within its list
  std::string image;
  std::vector<std::string> command;  // $(VAR) expanded from env, as the kubelet does
  std::vector<std::string> args;     // $(VAR) expanded
  std::vector<EnvVar> env;
  std::string working_dir;
  std::vector<NamedPort> ports;
  std::optional<HandlerSpec> post_start;
  std::optional<HandlerSpec> pre_stop;
  int stop_signal = 0;  // 0: the driver's default (SIGTERM)
  // terminationMessagePath as the API server defaults it, and terminationMessagePolicy.
  std::string termination_message_path = "/dev/termination-log";
  TerminationMessagePolicy termination_message_policy = TerminationMessagePolicy::File;
  // livenessProbe, readinessProbe, startupProbe (regular containers and sidecars only).
  std::optional<probe::ProbeSpec> liveness_probe;
  std::optional<probe::ProbeSpec> readiness_probe;
  std::optional<probe::ProbeSpec> startup_probe;
  json raw;  // the Container object as given (drivers that need more read it; probes later)
};

struct PodSpec {
  std::string name;
  std::string namespace_ = "default";
  std::string uid;
  std::vector<ContainerSpec> init_containers;
  std::vector<ContainerSpec> containers;
  RestartPolicy restart_policy = RestartPolicy::Always;
  int64_t grace_ms = 30000;                  // terminationGracePeriodSeconds, in ms
  std::vector<std::string> readiness_gates;  // spec.readinessGates[].conditionType, in order
  std::optional<int64_t> active_deadline_s;  // spec.activeDeadlineSeconds
  std::vector<Finding> warnings;             // what parsing coerced, as the API server does
  json raw;
};

// Where parse problems go. Without one, parsing throws at the first problem (lifehook_pod_create);
// with one, each problem is recorded and parsing goes on with the next field, so
// lifehook_pod_validate reports all of them by the very same rules.
struct Problems {
  std::vector<Finding> list;
  // Runs one step of parsing; an Error it throws is recorded (or rethrown without a collector).
  template <class F>
  static bool step(Problems* p, F&& f);
  void add(const std::exception& e);
};

template <class F>
bool Problems::step(Problems* p, F&& f) {
  if (!p) {
    f();
    return true;
  }
  try {
    f();
    return true;
  } catch (const std::exception& e) {
    p->add(e);
    return false;
  }
}

// Parses and validates pod JSON text. Throws Error(LIFEHOOK_E_INVALID) at the first problem, or
// with `problems`, records every one (the returned spec is then incomplete and must not run).
PodSpec parse_pod(std::string_view text, Problems* problems = nullptr);
PodSpec parse_pod_json(const json& j, Problems* problems = nullptr);

// "NAME_NAMESPACE(UID)", the kubelet's format.Pod, used in event and log messages.
std::string format_pod(const PodSpec& p);

// A qualified name ("example.com/feature-1", "ready"): condition types and readiness gates.
bool is_qualified_name(const std::string& s);

// "SIGTERM" -> 15; 0 when unknown. Accepts the name with or without the SIG prefix.
int signal_from_name(std::string_view name);

}  // namespace lifehook::pod
