// A container probe (livenessProbe, readinessProbe, startupProbe) as the kubelet reads it:
// Kubernetes field names and defaults (pkg/apis/core/v1/defaults.go: SetDefaults_Probe), the API
// server's validation (pkg/apis/core/validation: validateProbe), every error naming the field path
// and the value. Parsed once per container; a worker never reparses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../../handlers/model.hpp"

namespace lifehook::probe {

enum class ProbeType { Liveness, Readiness, Startup };

// "Liveness", "Readiness", "Startup": the first word of the kubelet's probe event messages.
std::string_view probe_type_title(ProbeType t);
// "liveness", "readiness", "startup": JSON and Request::purpose spelling.
std::string_view probe_type_name(ProbeType t);
// "livenessProbe", ...: the Container field.
std::string_view probe_field_name(ProbeType t);
Purpose probe_purpose(ProbeType t);

struct ProbeSpec {
  ProbeType type = ProbeType::Readiness;
  HandlerSpec handler;           // exec, httpGet or tcpSocket (grpc once the handler exists); never sleep
  int64_t initial_delay_ms = 0;  // initialDelaySeconds, not defaulted
  int64_t period_ms = 10000;     // periodSeconds: 0 -> 10, min 1
  int64_t timeout_ms = 1000;     // timeoutSeconds: 0 -> 1, min 1
  int success_threshold = 1;     // 0 -> 1; must be 1 for liveness and startup
  int failure_threshold = 3;     // 0 -> 3
  // Probe-level terminationGracePeriodSeconds (liveness and startup only): the grace of the stop
  // that a failure of this probe causes, instead of the pod's (KEP-2238).
  std::optional<int64_t> termination_grace_ms;
};

// Parses the probe object at `path` (e.g. "spec.containers[0].livenessProbe"). Named ports
// resolve against `ports`, $(VAR) in exec commands expands from `env` (the container's, as the
// kubelet's ExpandContainerCommandOnlyStatic). Throws Error(LIFEHOOK_E_INVALID).
ProbeSpec parse_probe(const json& j, const std::string& path, ProbeType type, const std::vector<NamedPort>& ports,
                      const std::vector<EnvVar>& env);

// The request every attempt of this probe submits: the handler against `target`, with the
// probe's timeout (timeoutSeconds, enforced by the operation: an exec's process tree is killed).
Request probe_request(const ProbeSpec& spec, Target target);

}  // namespace lifehook::probe
