#include "model.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <nlohmann/detail/conversions/to_chars.hpp>

#include "../plugin/common/errors.hpp"
#include "http_syntax.hpp"

namespace lifehook {

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Success: return "success";
    case Outcome::Failure: return "failure";
    case Outcome::Timeout: return "timeout";
    case Outcome::Canceled: return "canceled";
    case Outcome::Error: break;
  }
  return "error";
}

std::string_view handler_kind(const HandlerSpec& h) {
  static constexpr std::string_view names[] = {"exec", "httpGet", "tcpSocket", "sleep", "grpc"};
  static_assert(std::size(names) == std::variant_size_v<HandlerSpec>, "a handler kind without its name");
  return names[h.index()];
}

namespace {

constexpr const char* kPortNameRule =
    "an IANA_SVC_NAME (at most 15 characters of a-z, 0-9 and '-', at least one letter, no leading, trailing or "
    "double '-')";

// validation.IsValidPortName (k8s.io/apimachinery/pkg/util/validation): the only strings the API
// server takes as a port, so "080" or "80" in quotes is refused rather than read as a number.
bool is_port_name(const std::string& s) {
  if (s.empty() || s.size() > 15 || s.front() == '-' || s.back() == '-' || s.find("--") != std::string::npos)
    return false;
  bool letter = false;
  for (char c : s) {
    if (c >= 'a' && c <= 'z')
      letter = true;
    else if (!(c >= '0' && c <= '9') && c != '-')
      return false;
  }
  return letter;
}

// The field `key` of an object, null when absent: what obj.value(key, json()) gives, without
// copying the value.
const json& member(const json& obj, const char* key) {
  static const json null;
  auto it = obj.find(key);
  return it == obj.end() ? null : *it;
}

}  // namespace

std::vector<NamedPort> parse_ports(const json& j, const std::string& path) {
  std::vector<NamedPort> ports;
  if (j.is_null()) return ports;
  if (!j.is_array()) throw_invalid(path, "must be an array", json_value_text(j));
  for (size_t i = 0; i < j.size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    require_object(j[i], p);
    NamedPort np;
    np.name = get_string(j[i], "name", p);
    if (!np.name.empty() && !is_port_name(np.name))
      throw_invalid(p + ".name", std::string("must be ") + kPortNameRule, json_value_text(j[i]["name"]));
    // Range-checked as int64 before narrowing: 2^32+80 is refused, not taken as 80.
    int64_t port = get_int(j[i], "containerPort", p, 0);
    if (port < 1 || port > 65535)
      throw_invalid(p + ".containerPort", "must be between 1 and 65535",
                    json_value_text(j[i].value("containerPort", json())));
    np.container_port = static_cast<int>(port);
    ports.push_back(std::move(np));
  }
  return ports;
}

std::vector<EnvVar> parse_env(const json& j, const std::string& path) {
  std::vector<EnvVar> env;
  if (j.is_null()) return env;
  if (!j.is_array()) throw_invalid(path, "must be an array", json_value_text(j));
  for (size_t i = 0; i < j.size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    require_object(j[i], p);
    EnvVar e;
    e.name = get_line(j[i], "name", p, true);
    if (e.name.empty() || e.name.find('=') != std::string::npos)
      throw_invalid(p + ".name", "must be a non-empty name without '='", json_value_text(j[i]["name"]));
    if (field(j[i], "valueFrom")) throw_invalid(p + ".valueFrom", "is not supported (only literal values)");
    e.value = get_string(j[i], "value", p);
    env.push_back(std::move(e));
  }
  expand_env_values(env);
  return env;
}

namespace {

int resolve_port(const json& obj, const std::string& path, const std::vector<NamedPort>& ports) {
  const json* v = field(obj, "port");
  auto p = [&] { return path + ".port"; };  // for a refusal only
  if (!v) throw_invalid(p(), "is required");
  int64_t port = -1;
  if (v->is_number_integer()) {
    port = v->is_number_unsigned() && v->get<uint64_t>() > 65535 ? -1 : v->get<int64_t>();
  } else if (v->is_string()) {
    // An IntOrString port given as a string is a port NAME (validation.ValidatePortNumOrName).
    std::string name = v->get<std::string>();
    if (!is_port_name(name))
      throw_invalid(p(), std::string("must be a port number or a port name, ") + kPortNameRule, json_value_text(*v));
    bool found = false;
    for (const auto& np : ports)
      if (np.name == name) {
        port = np.container_port;
        found = true;
      }
    if (!found) throw_invalid(p(), "names no port of the target (target.ports / container ports)", json_value_text(*v));
  } else {
    throw_invalid(p(), "must be a number or a port name", json_value_text(*v));
  }
  if (port < 1 || port > 65535) throw_invalid(p(), "must be between 1 and 65535", json_value_text(*v));
  return static_cast<int>(port);
}

HttpGetSpec parse_http_get(const json& j, const std::string& path, const std::vector<NamedPort>& ports) {
  require_object(j, path);
  HttpGetSpec h;
  h.host = get_line(j, "host", path);
  if (h.host.find_first_of(" /\t@?#") != std::string::npos)
    throw_invalid(path + ".host", "must be a host name or IP address", json_value_text(j["host"]));
  h.port = resolve_port(j, path, ports);
  std::string p = get_string(j, "path", path);
  if (p.empty()) p = "/";
  for (unsigned char c : p)
    if (c <= 0x20 || c == 0x7f)
      throw_invalid(path + ".path", "must not contain spaces or control characters", json_value_text(j["path"]));
  if (p[0] != '/') p = "/" + p;
  h.path = p;
  std::string scheme = get_string(j, "scheme", path);
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme.empty() || scheme == "http")
    h.https = false;
  else if (scheme == "https")
    h.https = true;
  else
    throw_invalid(path + ".scheme", "must be HTTP or HTTPS", json_value_text(j["scheme"]));
  if (const json* hs = field(j, "httpHeaders")) {
    std::string hp = path + ".httpHeaders";
    if (!hs->is_array()) throw_invalid(hp, "must be an array", json_value_text(*hs));
    // Bounded before any per-header work: 100 000 headers are refused at once.
    if (hs->size() > kMaxHttpHeaders)
      throw_invalid(hp, "has " + std::to_string(hs->size()) + " headers; at most " + std::to_string(kMaxHttpHeaders) +
                            " are allowed");
    size_t bytes = 0;
    for (size_t i = 0; i < hs->size(); ++i) {
      std::string ip = hp + "[" + std::to_string(i) + "]";
      require_object((*hs)[i], ip);
      const json& hj = (*hs)[i];
      for (const char* key : {"name", "value"})
        if (const json* s = field(hj, key); s && s->is_string()) bytes += s->get_ref<const std::string&>().size();
      if (bytes > kMaxHttpHeaderBytes)
        throw_invalid(
            hp, "hold more than " + std::to_string(kMaxHttpHeaderBytes) +
                    " bytes of names and values (1 MiB, Go's http.DefaultMaxHeaderBytes); the limit is reached at [" +
                    std::to_string(i) + "]");
      HttpHeader hh{get_string(hj, "name", ip, true), get_string(hj, "value", ip)};
      if (!is_http_token(hh.name))
        throw_invalid(ip + ".name",
                      "must be an HTTP header name (an RFC 7230 token: letters, digits and !#$%&'*+-.^_`|~)",
                      json_value_text(hj["name"]));
      if (!is_http_field_value(hh.value))
        throw_invalid(ip + ".value", "must not contain CR, LF, NUL or other control characters but TAB",
                      json_value_text(hj["value"]));
      h.headers.push_back(std::move(hh));
    }
  }
  return h;
}

// GRPCAction: port (a number; Kubernetes has no named gRPC ports), service (optional), and our
// host (optional, default target.podIP).
GrpcSpec parse_grpc(const json& j, const std::string& path) {
  constexpr size_t kMaxServiceBytes = 1024;
  require_object(j, path);
  GrpcSpec g;
  g.host = get_line(j, "host", path);
  if (g.host.find_first_of(" /\t@?#") != std::string::npos)
    throw_invalid(path + ".host", "must be a host name or IP address", json_value_text(j["host"]));
  const json* port = field(j, "port");
  if (!port) throw_invalid(path + ".port", "is required");
  if (!port->is_number_integer())
    throw_invalid(path + ".port", "must be a port number (gRPC ports cannot be named)", json_value_text(*port));
  int64_t p = port->get<int64_t>();
  if (p < 1 || p > 65535) throw_invalid(path + ".port", "must be between 1 and 65535", json_value_text(*port));
  g.port = static_cast<int>(p);
  g.service = get_string(j, "service", path);
  if (g.service.size() > kMaxServiceBytes)
    throw_invalid(path + ".service", "must be at most " + std::to_string(kMaxServiceBytes) + " bytes",
                  json_value_text(j["service"]));
  return g;
}

}  // namespace

HandlerSpec parse_lifecycle_handler(const json& j, const std::string& path, const std::vector<NamedPort>& ports,
                                    const std::vector<EnvVar>& env) {
  if (field(j, "grpc"))
    throw_invalid(path + ".grpc",
                  "is not a lifecycle handler (Kubernetes lifecycle hooks have exec, httpGet, "
                  "tcpSocket and sleep; grpc is for probes)");
  return parse_handler(j, path, ports, env);
}

HandlerSpec parse_handler(const json& j, const std::string& path, const std::vector<NamedPort>& ports,
                          const std::vector<EnvVar>& env) {
  if (j.is_null()) throw_invalid(path, "is required");
  require_object(j, path);
  static const char* kinds[] = {"exec", "httpGet", "tcpSocket", "sleep", "grpc"};
  const char* present[2] = {};
  const json* v_ptr = nullptr;
  size_t found = 0;
  for (const char* k : kinds)
    if (const json* f = field(j, k)) {
      if (found < 2) present[found] = k;
      if (found++ == 0) v_ptr = f;
    }
  if (found == 0)
    throw_invalid(path, "must specify exactly one of exec, httpGet, tcpSocket, sleep, grpc", json_value_text(j));
  if (found > 1)
    throw_invalid(path, std::string("must specify exactly one of exec, httpGet, tcpSocket, sleep, grpc; found ") +
                            present[0] + " and " + present[1]);
  const std::string_view kind = present[0];
  const json& v = *v_ptr;
  std::string p = path + "." + present[0];
  if (kind == "exec") {
    require_object(v, p);
    const json* cmd = field(v, "command");
    if (!cmd) throw_invalid(p + ".command", "is required");
    if (!cmd->is_array() || cmd->empty())
      throw_invalid(p + ".command", "must be a non-empty array of strings", json_value_text(*cmd));
    ExecSpec e;
    for (size_t i = 0; i < cmd->size(); ++i) {
      const json& a = (*cmd)[i];
      if (!a.is_string())
        throw_invalid(p + ".command[" + std::to_string(i) + "]", "must be a string", json_value_text(a));
      std::string s = expand_vars(a.get<std::string>(), env);
      if (s.find('\0') != std::string::npos)
        throw_invalid(p + ".command[" + std::to_string(i) + "]", "must not contain NUL");
      e.command.push_back(std::move(s));
    }
    if (e.command[0].empty()) throw_invalid(p + ".command[0]", "must not be empty");
    return e;
  }
  if (kind == "httpGet") return parse_http_get(v, p, ports);
  if (kind == "grpc") return parse_grpc(v, p);
  if (kind == "tcpSocket") {
    require_object(v, p);
    TcpSocketSpec t;
    t.host = get_line(v, "host", p);
    if (t.host.find_first_of(" /\t") != std::string::npos)
      throw_invalid(p + ".host", "must be a host name or IP address", json_value_text(v["host"]));
    t.port = resolve_port(v, p, ports);
    return t;
  }
  require_object(v, p);
  const json* s = field(v, "seconds");
  if (!s) throw_invalid(p + ".seconds", "is required");
  if (!s->is_number()) throw_invalid(p + ".seconds", "must be a number", json_value_text(*s));
  double secs = s->get<double>();
  if (!(secs >= 0) || secs > 1e9)
    throw_invalid(p + ".seconds", "must be between 0 and 1000000000", json_value_text(*s));
  return SleepSpec{static_cast<int64_t>(std::llround(secs * 1000.0))};
}

Target parse_target(const json& j, const std::string& path) {
  Target t;
  if (j.is_null()) return t;
  require_object(j, path);
  t.pod_ip = get_line(j, "podIP", path);
  if (t.pod_ip.find_first_of(" /\t@?#") != std::string::npos)
    throw_invalid(path + ".podIP", "must be a host name or IP address", json_value_text(j["podIP"]));
  t.ports = parse_ports(member(j, "ports"), path + ".ports");
  t.env = parse_env(member(j, "env"), path + ".env");
  t.working_dir = get_line(j, "workingDir", path);
  if (!t.working_dir.empty() && t.working_dir.front() != '/')  // as the API server requires of a container's
    throw_invalid(path + ".workingDir", "must be an absolute path", json_value_text(j["workingDir"]));
  if (const json* pid = field(j, "pid")) {
    int64_t v = get_int(j, "pid", path, 0);
    if (v <= 0 || v > 4194304) throw_invalid(path + ".pid", "must be a positive process id", json_value_text(*pid));
    t.pid = static_cast<int>(v);
  }
  t.bundle = get_line(j, "bundle", path);
  t.exec_mode = get_line(j, "execMode", path);
  if (!t.exec_mode.empty() && t.exec_mode != "host" && t.exec_mode != "container" && t.exec_mode != "runtime")
    throw_invalid(path + ".execMode", "must be host, container or runtime", json_value_text(j["execMode"]));
  t.cgroup = get_line(j, "cgroup", path);
  t.runtime = get_line(j, "runtime", path);
  t.runtime_root = get_line(j, "runtimeRoot", path);
  t.netns = get_line(j, "netns", path);
  if (field(j, "netns") && (t.netns.empty() || t.netns[0] != '/'))
    throw_invalid(path + ".netns", "must be the absolute path of a network namespace file, e.g. /proc/<pid>/ns/net",
                  json_value_text(j["netns"]));
  return t;
}

// The longest timeout taken (about 31 years): as nanoseconds of a steady_clock deadline it
// stays far from int64 overflow.
constexpr double kMaxTimeoutMs = 1e12;

Request parse_request(std::string_view text) {
  json j = parse_json_text(text, "request");
  require_object(j, "request");
  Request r;
  r.target = parse_target(member(j, "target"), "target");
  r.handler = parse_handler(member(j, "handler"), "handler", r.target.ports, r.target.env);
  // A network handler needs somewhere to go: its own host or the target's podIP.
  auto require_host = [&](const std::string& host, const char* kind) {
    if (host.empty() && r.target.pod_ip.empty())
      throw_invalid(std::string("handler.") + kind + ".host", "is required when target.podIP is not set");
  };
  if (const auto* h = std::get_if<HttpGetSpec>(&r.handler)) require_host(h->host, "httpGet");
  if (const auto* t = std::get_if<TcpSocketSpec>(&r.handler)) require_host(t->host, "tcpSocket");
  if (const auto* g = std::get_if<GrpcSpec>(&r.handler)) require_host(g->host, "grpc");
  const json* t = field(j, "timeoutMs");
  if (t) {
    if (!t->is_number()) throw_invalid("timeoutMs", "must be a number of milliseconds", json_value_text(*t));
    double ms = t->get<double>();
    if (!(ms >= 0) || ms > kMaxTimeoutMs)
      throw_invalid("timeoutMs",
                    "must be between 0 and " + std::to_string(static_cast<int64_t>(kMaxTimeoutMs)) + " milliseconds",
                    json_value_text(*t));
    r.timeout_ms = static_cast<int64_t>(std::ceil(ms));
  }
  std::string purpose = get_line(j, "purpose", "request");
  static const std::pair<const char*, Purpose> purposes[] = {
      {"", Purpose::OneShot},        {"oneshot", Purpose::OneShot},   {"postStart", Purpose::PostStart},
      {"preStop", Purpose::PreStop}, {"liveness", Purpose::Liveness}, {"readiness", Purpose::Readiness},
      {"startup", Purpose::Startup}};
  bool ok = false;
  for (const auto& [name, p] : purposes)
    if (purpose == name) {
      r.purpose = p;
      ok = true;
    }
  if (!ok)
    throw_invalid("purpose", "must be postStart, preStop, liveness, readiness, startup or oneshot",
                  json_value_text(j["purpose"]));
  return r;
}

json result_to_json(const Result& r) {
  json j = json::object();
  j["outcome"] = outcome_name(r.outcome);
  j["message"] = r.message;
  j["durationMs"] = std::round(r.duration_ms * 1000.0) / 1000.0;
  if (r.exit_code) j["exitCode"] = *r.exit_code;
  if (r.signal) j["signal"] = *r.signal;
  if (r.http_status) j["httpStatus"] = *r.http_status;
  if (r.output) j["output"] = *r.output;
  if (r.truncated) j["truncated"] = *r.truncated;
  j["warnings"] = r.warnings;
  return j;
}

namespace {

// A string as nlohmann's serializer writes it with ensure_ascii off (dump_escaped): ASCII is
// written here with the same escapes (\b \t \n \f \r \" \\, other control characters as \u00xx,
// lowercase); a string with any byte past 0x7f (UTF-8, perhaps invalid and then replaced by
// U+FFFD) is left to the serializer itself.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  const size_t mark = out.size();
  out += '"';
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) continue;
    if (c >= 0x80) {
      out.resize(mark);
      out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
      return;
    }
    out.append(s, start, i - start);
    start = i + 1;
    switch (c) {
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  out.append(s, start);
  out += '"';
}

void append_int(std::string& out, int v) {
  char buf[16];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

}  // namespace

std::string result_json_text(const Result& r) {
  // The keys in the order of result_to_json's std::map; numbers and strings as its dump writes them.
  std::string out;
  out.reserve(160 + r.message.size() + (r.output ? r.output->size() : 0));
  out += "{\"durationMs\":";
  if (double ms = std::round(r.duration_ms * 1000.0) / 1000.0; std::isfinite(ms)) {
    char buf[64];
    out.append(buf, nlohmann::detail::to_chars(buf, buf + sizeof buf, ms));
  } else {
    out += "null";
  }
  if (r.exit_code) out += ",\"exitCode\":", append_int(out, *r.exit_code);
  if (r.http_status) out += ",\"httpStatus\":", append_int(out, *r.http_status);
  out += ",\"message\":";
  append_json_string(out, r.message);
  out += ",\"outcome\":";
  append_json_string(out, outcome_name(r.outcome));
  if (r.output) out += ",\"output\":", append_json_string(out, *r.output);
  if (r.signal) out += ",\"signal\":", append_int(out, *r.signal);
  if (r.truncated) out += *r.truncated ? ",\"truncated\":true" : ",\"truncated\":false";
  out += ",\"warnings\":[";
  for (size_t i = 0; i < r.warnings.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, r.warnings[i]);
  }
  out += "]}";
  return out;
}

namespace {

// A command argument as one log line: control characters (an argument may be a multi-line
// script) are written as escapes, so no argument can start a forged log line.
std::string one_line(const std::string& s) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f)
      out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    else
      out += static_cast<char>(c);
  }
  return out;
}

}  // namespace

std::string describe(const HandlerSpec& h, const Target& t) {
  struct V {
    const Target& t;
    std::string host(const std::string& h) const { return h.empty() ? (t.pod_ip.empty() ? "?" : t.pod_ip) : h; }
    std::string operator()(const ExecSpec& e) const {
      std::string s = "exec [";
      for (size_t i = 0; i < e.command.size(); ++i) s += (i ? " " : "") + one_line(e.command[i]);
      return s + "]";
    }
    std::string operator()(const HttpGetSpec& g) const {
      return std::string(g.https ? "https://" : "http://") + host(g.host) + ":" + std::to_string(g.port) + g.path;
    }
    std::string operator()(const TcpSocketSpec& s) const {
      return "tcp " + host(s.host) + ":" + std::to_string(s.port);
    }
    std::string operator()(const SleepSpec& s) const { return "sleep " + std::to_string(s.milliseconds) + "ms"; }
    std::string operator()(const GrpcSpec& g) const {
      std::string s = "grpc " + host(g.host) + ":" + std::to_string(g.port);
      return g.service.empty() ? s : s + " service \"" + g.service + "\"";
    }
  };
  return std::visit(V{t}, h);
}

}  // namespace lifehook
