#include "spec.hpp"

#include "../common/errors.hpp"

namespace lifehook::probe {

std::string_view probe_type_title(ProbeType t) {
  switch (t) {
    case ProbeType::Liveness: return "Liveness";
    case ProbeType::Startup: return "Startup";
    case ProbeType::Readiness: break;
  }
  return "Readiness";
}

std::string_view probe_type_name(ProbeType t) {
  switch (t) {
    case ProbeType::Liveness: return "liveness";
    case ProbeType::Startup: return "startup";
    case ProbeType::Readiness: break;
  }
  return "readiness";
}

std::string_view probe_field_name(ProbeType t) {
  switch (t) {
    case ProbeType::Liveness: return "livenessProbe";
    case ProbeType::Startup: return "startupProbe";
    case ProbeType::Readiness: break;
  }
  return "readinessProbe";
}

Purpose probe_purpose(ProbeType t) {
  switch (t) {
    case ProbeType::Liveness: return Purpose::Liveness;
    case ProbeType::Startup: return Purpose::Startup;
    case ProbeType::Readiness: break;
  }
  return Purpose::Readiness;
}

namespace {

// The API's int32 fields; 0 means "unset" (the Go zero value) and takes the default, as
// SetDefaults_Probe does; a negative value is rejected (ValidateNonnegativeField).
int64_t seconds_field(const json& j, const char* key, const std::string& path, int64_t dflt) {
  const json* v = field(j, key);
  if (!v) return dflt;
  std::string p = path + "." + key;
  if (!v->is_number_integer()) throw_invalid(p, "must be an integer number", json_value_text(*v));
  if (v->is_number_unsigned() && v->get<uint64_t>() > 2147483647u)
    throw_invalid(p, "must be at most 2147483647", json_value_text(*v));
  int64_t n = v->get<int64_t>();
  if (n < 0) throw_invalid(p, "must be greater than or equal to 0", json_value_text(*v));
  if (n > 2147483647) throw_invalid(p, "must be at most 2147483647", json_value_text(*v));
  return n == 0 ? dflt : n;
}

}  // namespace

ProbeSpec parse_probe(const json& j, const std::string& path, ProbeType type, const std::vector<NamedPort>& ports,
                      const std::vector<EnvVar>& env) {
  require_object(j, path);
  ProbeSpec s;
  s.type = type;

  // Exactly one handler (validateHandler: "must specify a handler type" / "may not specify more
  // than 1 handler type"); sleep is a lifecycle handler only.
  static const char* kinds[] = {"exec", "httpGet", "tcpSocket", "grpc"};
  std::vector<std::string> present;
  for (const char* k : kinds)
    if (field(j, k)) present.emplace_back(k);
  if (field(j, "sleep"))
    throw_invalid(path + ".sleep", "is not a probe handler; use exec, httpGet, tcpSocket or grpc",
                  json_value_text(j["sleep"]));
  if (present.empty()) throw_invalid(path, "must specify a handler type: one of exec, httpGet, tcpSocket, grpc");
  if (present.size() > 1)
    throw_invalid(path, "may not specify more than 1 handler type; found " + present[0] + " and " + present[1]);
  json handler = json::object();
  handler[present[0]] = j[present[0]];
  s.handler = parse_handler(handler, path, ports, env);

  s.initial_delay_ms = seconds_field(j, "initialDelaySeconds", path, 0) * 1000;
  s.period_ms = seconds_field(j, "periodSeconds", path, 10) * 1000;
  s.timeout_ms = seconds_field(j, "timeoutSeconds", path, 1) * 1000;
  s.success_threshold = static_cast<int>(seconds_field(j, "successThreshold", path, 1));
  s.failure_threshold = static_cast<int>(seconds_field(j, "failureThreshold", path, 3));
  if (type != ProbeType::Readiness && s.success_threshold != 1)
    throw_invalid(path + ".successThreshold", "must be 1 for " + std::string(probe_field_name(type)),
                  json_value_text(j["successThreshold"]));

  if (const json* g = field(j, "terminationGracePeriodSeconds")) {
    std::string p = path + ".terminationGracePeriodSeconds";
    if (type == ProbeType::Readiness) throw_invalid(p, "must not be set for readinessProbes", json_value_text(*g));
    if (!g->is_number_integer()) throw_invalid(p, "must be an integer number of seconds", json_value_text(*g));
    if (g->is_number_unsigned() && g->get<uint64_t>() > 10 * 365 * 86400ULL)
      throw_invalid(p, "is unreasonably large", json_value_text(*g));
    int64_t n = g->get<int64_t>();
    if (n <= 0) throw_invalid(p, "must be greater than 0", json_value_text(*g));
    if (n > 10 * 365 * 86400LL) throw_invalid(p, "is unreasonably large", json_value_text(*g));
    s.termination_grace_ms = n * 1000;
  }
  return s;
}

Request probe_request(const ProbeSpec& spec, Target target) {
  Request r;
  r.handler = spec.handler;
  r.target = std::move(target);
  r.timeout_ms = spec.timeout_ms;
  r.purpose = probe_purpose(spec.type);
  return r;
}

}  // namespace lifehook::probe
