// The parts of a Kubernetes v1 Pod that matter on a node, parsed and validated up front so the
// lifecycle engine never starts on bad input. Every error names the JSON path and the value
// (e.g. "spec.containers[1].name: duplicate name (got "web")"). Unknown fields are ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../../handlers/model.hpp"
#include "../probe/spec.hpp"

namespace lifehook::pod {

enum class RestartPolicy { Always, OnFailure, Never };

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
  int64_t grace_ms = 30000;  // terminationGracePeriodSeconds, in ms
  json raw;
};

// Parses and validates pod JSON text. Throws Error(LIFEHOOK_E_INVALID).
PodSpec parse_pod(std::string_view text);
PodSpec parse_pod_json(const json& j);

// "NAME_NAMESPACE(UID)", the kubelet's format.Pod, used in event and log messages.
std::string format_pod(const PodSpec& p);

std::string_view restart_policy_name(RestartPolicy p);

// "SIGTERM" -> 15; 0 when unknown. Accepts the name with or without the SIG prefix.
int signal_from_name(std::string_view name);

}  // namespace lifehook::pod
