// The request/result model every handler shares: Kubernetes handler specs (exec, httpGet,
// tcpSocket, sleep, grpc), the target they run against, and the outcome they report. Parsing
// validates everything up front so a handler never starts on bad input; every error names
// the JSON path and the offending value.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "../plugin/common/json_fields.hpp"
#include "expansion.hpp"  // expand_vars: $(VAR) in commands

namespace lifehook {

using json = nlohmann::json;

struct NamedPort {
  std::string name;
  int container_port = 0;
};

struct EnvVar {
  std::string name;
  std::string value;
};

struct ExecSpec {
  std::vector<std::string> command;  // argv, no shell added; $(VAR) already expanded
};

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpGetSpec {
  std::string host;  // empty: target.podIP
  int port = 0;      // resolved, 1..65535
  std::string path = "/";
  bool https = false;
  std::vector<HttpHeader> headers;
};

struct TcpSocketSpec {
  std::string host;  // empty: target.podIP
  int port = 0;      // resolved, 1..65535
};

struct SleepSpec {
  int64_t milliseconds = 0;  // from "seconds" (fractions allowed), >= 0
};

// grpc.health.v1.Health/Check (Kubernetes GRPCAction; probes only, never a lifecycle hook).
struct GrpcSpec {
  std::string host;     // empty: target.podIP (GRPCAction has no host; ours may name one)
  int port = 0;         // 1..65535, a number (GRPCAction has no named ports)
  std::string service;  // HealthCheckRequest.service; empty: the server as a whole
};

using HandlerSpec = std::variant<ExecSpec, HttpGetSpec, TcpSocketSpec, SleepSpec, GrpcSpec>;

// Where a handler runs: the container it belongs to, as far as the caller knows it.
struct Target {
  std::string pod_ip;
  std::vector<NamedPort> ports;
  std::vector<EnvVar> env;
  std::string working_dir;
  std::optional<int> pid;    // container init pid as seen from the host
  std::string bundle;        // OCI bundle directory (container exec)
  std::string exec_mode;     // "", "host", "container", "runtime"
  std::string cgroup;        // cgroup v2 path an exec should join (empty: its own)
  std::string runtime;       // execMode runtime: the OCI runtime binary (empty: runc)
  std::string runtime_root;  // execMode runtime: its state root (empty: every root known)
  std::string netns;         // network namespace file httpGet/tcpSocket connect from (empty: the host's)
};

enum class Purpose { OneShot, PostStart, PreStop, Liveness, Readiness, Startup };

struct Request {
  HandlerSpec handler;
  Target target;
  int64_t timeout_ms = 0;  // 0 = none
  Purpose purpose = Purpose::OneShot;
};

enum class Outcome { Success, Failure, Timeout, Canceled, Error };

struct Result {
  Outcome outcome = Outcome::Error;
  std::string message;
  double duration_ms = 0;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::optional<int> http_status;
  std::optional<std::string> output;
  std::optional<bool> truncated;
  std::vector<std::string> warnings;
};

std::string_view outcome_name(Outcome o);
std::string_view handler_kind(const HandlerSpec& h);  // "exec", "httpGet", ...

// Parses a Kubernetes LifecycleHandler / probe handler object found at `path`.
// Named ports resolve against `ports`; $(VAR) in exec commands expands from `env`.
HandlerSpec parse_handler(const json& j, const std::string& path, const std::vector<NamedPort>& ports,
                          const std::vector<EnvVar>& env);
// The same for a container's lifecycle.postStart / preStop: Kubernetes' LifecycleHandler has no
// grpc (only probes do), so one is an error naming `path`.grpc.
HandlerSpec parse_lifecycle_handler(const json& j, const std::string& path, const std::vector<NamedPort>& ports,
                                    const std::vector<EnvVar>& env);
std::vector<NamedPort> parse_ports(const json& j, const std::string& path);
std::vector<EnvVar> parse_env(const json& j, const std::string& path);
Target parse_target(const json& j, const std::string& path);
// Parses a whole request document (text). Throws Error(LIFEHOOK_E_INVALID).
Request parse_request(std::string_view text);

json result_to_json(const Result& r);
// result_to_json(r).dump(-1, ' ', false, json::error_handler_t::replace), byte for byte, written
// without building the document (what lifehook_run and lifehook_submit return).
std::string result_json_text(const Result& r);
// A short description for logs and events, e.g. "tcp 127.0.0.1:3306", "exec [sh -c ...]".
std::string describe(const HandlerSpec& h, const Target& t);

}  // namespace lifehook
