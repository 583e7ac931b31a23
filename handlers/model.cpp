#include "model.hpp"

#include <cmath>
#include <cstring>

#include "../plugin/errors.hpp"

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

std::string_view purpose_name(Purpose p) {
  switch (p) {
    case Purpose::PostStart: return "postStart";
    case Purpose::PreStop: return "preStop";
    case Purpose::Liveness: return "liveness";
    case Purpose::Readiness: return "readiness";
    case Purpose::Startup: return "startup";
    case Purpose::OneShot: break;
  }
  return "oneshot";
}

std::string_view handler_kind(const HandlerSpec& h) {
  static constexpr std::string_view names[] = {"exec", "httpGet", "tcpSocket", "sleep"};
  return names[h.index()];
}

std::string json_value_text(const json& j) {
  std::string s = j.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

const json* field(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

void require_object(const json& j, const std::string& path) {
  if (!j.is_object()) throw_invalid(path, "must be an object", json_value_text(j));
}

std::string get_string(const json& obj, const char* key, const std::string& path, bool required) {
  const json* v = field(obj, key);
  if (!v) {
    if (required) throw_invalid(path + "." + key, "is required");
    return {};
  }
  if (!v->is_string()) throw_invalid(path + "." + key, "must be a string", json_value_text(*v));
  return v->get<std::string>();
}

int64_t get_int(const json& obj, const char* key, const std::string& path, int64_t dflt) {
  const json* v = field(obj, key);
  if (!v) return dflt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  throw_invalid(path + "." + key, "must be an integer", json_value_text(*v));
}

double get_number(const json& obj, const char* key, const std::string& path, double dflt) {
  const json* v = field(obj, key);
  if (!v) return dflt;
  if (!v->is_number()) throw_invalid(path + "." + key, "must be a number", json_value_text(*v));
  return v->get<double>();
}

bool get_bool(const json& obj, const char* key, const std::string& path, bool dflt) {
  const json* v = field(obj, key);
  if (!v) return dflt;
  if (!v->is_boolean()) throw_invalid(path + "." + key, "must be true or false", json_value_text(*v));
  return v->get<bool>();
}

std::string expand_vars(std::string_view s, const std::vector<EnvVar>& env) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '$' && i + 1 < s.size()) {
      if (s[i + 1] == '$') {  // $$ escapes a literal $
        out += '$';
        ++i;
        continue;
      }
      if (s[i + 1] == '(') {
        size_t close = s.find(')', i + 2);
        if (close != std::string_view::npos) {
          std::string_view name = s.substr(i + 2, close - i - 2);
          const EnvVar* found = nullptr;
          for (const auto& e : env)  // the last definition wins, as in Kubernetes
            if (e.name == name) found = &e;
          if (found) {
            out += found->value;
            i = close;
            continue;
          }
        }
      }
    }
    out += s[i];
  }
  return out;
}

std::vector<NamedPort> parse_ports(const json& j, const std::string& path) {
  std::vector<NamedPort> ports;
  if (j.is_null()) return ports;
  if (!j.is_array()) throw_invalid(path, "must be an array", json_value_text(j));
  for (size_t i = 0; i < j.size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    require_object(j[i], p);
    NamedPort np;
    np.name = get_string(j[i], "name", p);
    np.container_port = static_cast<int>(get_int(j[i], "containerPort", p, 0));
    if (np.container_port < 1 || np.container_port > 65535)
      throw_invalid(p + ".containerPort", "must be between 1 and 65535", json_value_text(j[i].value("containerPort", json())));
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
    e.name = get_string(j[i], "name", p, true);
    if (e.name.empty() || e.name.find('=') != std::string::npos || e.name.find('\0') != std::string::npos)
      throw_invalid(p + ".name", "must be a non-empty name without '='", json_value_text(j[i]["name"]));
    if (field(j[i], "valueFrom")) throw_invalid(p + ".valueFrom", "is not supported (only literal values)");
    e.value = get_string(j[i], "value", p);
    env.push_back(std::move(e));
  }
  return env;
}

namespace {

int resolve_port(const json& obj, const std::string& path, const std::vector<NamedPort>& ports) {
  const json* v = field(obj, "port");
  std::string p = path + ".port";
  if (!v) throw_invalid(p, "is required");
  int64_t port = -1;
  if (v->is_number_integer()) {
    port = v->get<int64_t>();
  } else if (v->is_string()) {
    std::string name = v->get<std::string>();
    bool found = false;
    for (const auto& np : ports)
      if (!np.name.empty() && np.name == name) {
        port = np.container_port;
        found = true;
      }
    if (!found) {
      bool numeric = !name.empty() && name.size() < 7;
      for (char c : name) numeric = numeric && c >= '0' && c <= '9';
      if (!numeric) throw_invalid(p, "names no port of the target (target.ports / container ports)", json_value_text(*v));
      port = std::stol(name);
    }
  } else {
    throw_invalid(p, "must be a number or a port name", json_value_text(*v));
  }
  if (port < 1 || port > 65535) throw_invalid(p, "must be between 1 and 65535", json_value_text(*v));
  return static_cast<int>(port);
}

bool has_forbidden_header_char(const std::string& s) {
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return true;
  return false;
}

HttpGetSpec parse_http_get(const json& j, const std::string& path, const std::vector<NamedPort>& ports) {
  require_object(j, path);
  HttpGetSpec h;
  h.host = get_string(j, "host", path);
  if (h.host.find_first_of(" /\r\n\t@?#") != std::string::npos || has_forbidden_header_char(h.host))
    throw_invalid(path + ".host", "must be a host name or IP address", json_value_text(j["host"]));
  h.port = resolve_port(j, path, ports);
  std::string p = get_string(j, "path", path);
  if (p.empty()) p = "/";
  for (unsigned char c : p)
    if (c <= 0x20 || c == 0x7f) throw_invalid(path + ".path", "must not contain spaces or control characters", json_value_text(j["path"]));
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
    for (size_t i = 0; i < hs->size(); ++i) {
      std::string ip = hp + "[" + std::to_string(i) + "]";
      require_object((*hs)[i], ip);
      HttpHeader hh{get_string((*hs)[i], "name", ip, true), get_string((*hs)[i], "value", ip)};
      if (hh.name.empty() || has_forbidden_header_char(hh.name) || hh.name.find(':') != std::string::npos ||
          hh.name.find(' ') != std::string::npos)
        throw_invalid(ip + ".name", "must be a header name without ':', spaces, CR, LF or NUL", json_value_text((*hs)[i]["name"]));
      if (has_forbidden_header_char(hh.value))
        throw_invalid(ip + ".value", "must not contain CR, LF or NUL", json_value_text((*hs)[i]["value"]));
      h.headers.push_back(std::move(hh));
    }
  }
  return h;
}

}  // namespace

HandlerSpec parse_handler(const json& j, const std::string& path, const std::vector<NamedPort>& ports,
                          const std::vector<EnvVar>& env) {
  if (j.is_null()) throw_invalid(path, "is required");
  require_object(j, path);
  static const char* kinds[] = {"exec", "httpGet", "tcpSocket", "sleep"};
  std::vector<std::string> present;
  for (const char* k : kinds)
    if (field(j, k)) present.emplace_back(k);
  if (field(j, "grpc")) throw_invalid(path + ".grpc", "is not supported; use exec, httpGet, tcpSocket or sleep");
  if (present.empty()) throw_invalid(path, "must specify exactly one of exec, httpGet, tcpSocket, sleep", json_value_text(j));
  if (present.size() > 1)
    throw_invalid(path, "must specify exactly one of exec, httpGet, tcpSocket, sleep; found " + present[0] + " and " + present[1]);
  const std::string& kind = present[0];
  const json& v = j[kind];
  std::string p = path + "." + kind;
  if (kind == "exec") {
    require_object(v, p);
    const json* cmd = field(v, "command");
    if (!cmd) throw_invalid(p + ".command", "is required");
    if (!cmd->is_array() || cmd->empty()) throw_invalid(p + ".command", "must be a non-empty array of strings", json_value_text(*cmd));
    ExecSpec e;
    for (size_t i = 0; i < cmd->size(); ++i) {
      const json& a = (*cmd)[i];
      if (!a.is_string()) throw_invalid(p + ".command[" + std::to_string(i) + "]", "must be a string", json_value_text(a));
      std::string s = expand_vars(a.get<std::string>(), env);
      if (s.find('\0') != std::string::npos) throw_invalid(p + ".command[" + std::to_string(i) + "]", "must not contain NUL");
      e.command.push_back(std::move(s));
    }
    if (e.command[0].empty()) throw_invalid(p + ".command[0]", "must not be empty");
    return e;
  }
  if (kind == "httpGet") return parse_http_get(v, p, ports);
  if (kind == "tcpSocket") {
    require_object(v, p);
    TcpSocketSpec t;
    t.host = get_string(v, "host", p);
    if (t.host.find_first_of(" /\r\n\t") != std::string::npos)
      throw_invalid(p + ".host", "must be a host name or IP address", json_value_text(v["host"]));
    t.port = resolve_port(v, p, ports);
    return t;
  }
  require_object(v, p);
  const json* s = field(v, "seconds");
  if (!s) throw_invalid(p + ".seconds", "is required");
  if (!s->is_number()) throw_invalid(p + ".seconds", "must be a number", json_value_text(*s));
  double secs = s->get<double>();
  if (!(secs >= 0) || secs > 1e9) throw_invalid(p + ".seconds", "must be >= 0", json_value_text(*s));
  return SleepSpec{static_cast<int64_t>(std::llround(secs * 1000.0))};
}

Target parse_target(const json& j, const std::string& path) {
  Target t;
  if (j.is_null()) return t;
  require_object(j, path);
  t.pod_ip = get_string(j, "podIP", path);
  t.ports = parse_ports(j.value("ports", json()), path + ".ports");
  t.env = parse_env(j.value("env", json()), path + ".env");
  t.working_dir = get_string(j, "workingDir", path);
  if (const json* pid = field(j, "pid")) {
    int64_t v = get_int(j, "pid", path, 0);
    if (v <= 0 || v > 4194304) throw_invalid(path + ".pid", "must be a positive process id", json_value_text(*pid));
    t.pid = static_cast<int>(v);
  }
  t.bundle = get_string(j, "bundle", path);
  t.exec_mode = get_string(j, "execMode", path);
  if (!t.exec_mode.empty() && t.exec_mode != "host" && t.exec_mode != "container" && t.exec_mode != "runtime")
    throw_invalid(path + ".execMode", "must be host, container or runtime", json_value_text(j["execMode"]));
  t.cgroup = get_string(j, "cgroup", path);
  t.runtime = get_string(j, "runtime", path);
  t.runtime_root = get_string(j, "runtimeRoot", path);
  t.netns = get_string(j, "netns", path);
  if (field(j, "netns") && (t.netns.empty() || t.netns[0] != '/' || t.netns.find('\0') != std::string::npos))
    throw_invalid(path + ".netns", "must be the absolute path of a network namespace file, e.g. /proc/<pid>/ns/net",
                  json_value_text(j["netns"]));
  return t;
}

json parse_json_text(std::string_view text, const std::string& path) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ..."; keep
    // the human part, which carries the position.
    std::string why = e.what();
    if (auto pos = why.find("] "); why.rfind("[json.exception", 0) == 0 && pos != std::string::npos)
      why.erase(0, pos + 2);
    throw_invalid(path, "is not valid JSON (" + why + ")");
  }
}

Request parse_request(std::string_view text) {
  json j = parse_json_text(text, "request");
  require_object(j, "request");
  Request r;
  r.target = parse_target(j.value("target", json()), "target");
  r.handler = parse_handler(j.value("handler", json()), "handler", r.target.ports, r.target.env);
  // A network handler needs somewhere to go: its own host or the target's podIP.
  auto require_host = [&](const std::string& host, const char* kind) {
    if (host.empty() && r.target.pod_ip.empty())
      throw_invalid(std::string("handler.") + kind + ".host", "is required when target.podIP is not set");
  };
  if (const auto* h = std::get_if<HttpGetSpec>(&r.handler)) require_host(h->host, "httpGet");
  if (const auto* t = std::get_if<TcpSocketSpec>(&r.handler)) require_host(t->host, "tcpSocket");
  const json* t = field(j, "timeoutMs");
  if (t) {
    if (!t->is_number()) throw_invalid("timeoutMs", "must be a number of milliseconds", json_value_text(*t));
    double ms = t->get<double>();
    if (!(ms >= 0) || ms > 1e12) throw_invalid("timeoutMs", "must be >= 0", json_value_text(*t));
    r.timeout_ms = static_cast<int64_t>(std::ceil(ms));
  }
  std::string purpose = get_string(j, "purpose", "request");
  static const std::pair<const char*, Purpose> purposes[] = {
      {"", Purpose::OneShot},          {"oneshot", Purpose::OneShot},     {"postStart", Purpose::PostStart},
      {"preStop", Purpose::PreStop},   {"liveness", Purpose::Liveness},   {"readiness", Purpose::Readiness},
      {"startup", Purpose::Startup}};
  bool ok = false;
  for (const auto& [name, p] : purposes)
    if (purpose == name) {
      r.purpose = p;
      ok = true;
    }
  if (!ok) throw_invalid("purpose", "must be postStart, preStop, liveness, readiness, startup or oneshot", json_value_text(j["purpose"]));
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

std::string describe(const HandlerSpec& h, const Target& t) {
  struct V {
    const Target& t;
    std::string host(const std::string& h) const { return h.empty() ? (t.pod_ip.empty() ? "?" : t.pod_ip) : h; }
    std::string operator()(const ExecSpec& e) const {
      std::string s = "exec [";
      for (size_t i = 0; i < e.command.size(); ++i) s += (i ? " " : "") + e.command[i];
      return s + "]";
    }
    std::string operator()(const HttpGetSpec& g) const {
      return std::string(g.https ? "https://" : "http://") + host(g.host) + ":" + std::to_string(g.port) + g.path;
    }
    std::string operator()(const TcpSocketSpec& s) const { return "tcp " + host(s.host) + ":" + std::to_string(s.port); }
    std::string operator()(const SleepSpec& s) const { return "sleep " + std::to_string(s.milliseconds) + "ms"; }
  };
  return std::visit(V{t}, h);
}

}  // namespace lifehook
