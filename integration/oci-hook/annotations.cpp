#include "annotations.hpp"

#include <cmath>
#include <set>

#include "hook_error.hpp"
#include "oci_input.hpp"

namespace ocihook {

namespace {

constexpr const char* kPrefix = "lifehook.io/";

std::string short_text(const json& v) {
  std::string s = v.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

[[noreturn]] void bad(const std::string& path, const std::string& why, const json* value = nullptr) {
  throw HookError(path + ": " + why + (value ? " (got " + short_text(*value) + ")" : std::string()));
}

// Kubernetes bounds all of a pod's annotations together to 256 KiB (TotalAnnotationSizeLimitB).
constexpr size_t kMaxAnnotationBytes = 256 * 1024;

json parse_value(const std::string& text) { return parse_input_json(text, "", kMaxAnnotationBytes); }

int check_port(const json& obj, const std::string& path) {
  auto it = obj.find("port");
  if (it == obj.end()) bad(path + ".port", "is required");
  int64_t port = -1;
  if (it->is_number_integer()) {
    port = it->get<int64_t>();
  } else if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    bool numeric = !s.empty() && s.size() < 6 && s.find_first_not_of("0123456789") == std::string::npos;
    if (!numeric) bad(path + ".port", "must be a port number: an OCI container has no named ports", &*it);
    port = std::stol(s);
  } else {
    bad(path + ".port", "must be a port number", &*it);
  }
  if (port < 1 || port > 65535) bad(path + ".port", "must be between 1 and 65535", &*it);
  return static_cast<int>(port);
}

std::string host_of(const json& obj, const std::string& path) {
  auto it = obj.find("host");
  if (it == obj.end() || it->is_null()) return kDefaultHost;
  if (!it->is_string()) bad(path + ".host", "must be a string", &*it);
  return it->get<std::string>().empty() ? std::string(kDefaultHost) : it->get<std::string>();
}

// Checks a handler object and builds its entry. `wait_for`: wait-for entries may carry a label,
// and may be a grpc health check (post-start/post-stop are actions, as Kubernetes lifecycle hooks,
// which have no grpc).
HandlerEntry parse_handler(const json& j, const std::string& where, bool wait_for) {
  const std::string kinds_text = wait_for ? "exec, httpGet, tcpSocket, sleep, grpc" : "exec, httpGet, tcpSocket, sleep";
  if (!j.is_object()) bad(where, "must be a handler object with one of " + kinds_text, &j);
  HandlerEntry e;
  e.where = where;
  std::string name;
  std::vector<std::string> kinds;
  for (const auto& [key, value] : j.items()) {
    if (key == "exec" || key == "httpGet" || key == "tcpSocket" || key == "sleep" || (key == "grpc" && wait_for)) {
      kinds.push_back(key);
      e.handler[key] = value;
    } else if (key == "name" && wait_for) {
      if (!value.is_string()) bad(where + ".name", "must be a string", &value);
      name = value.get<std::string>();
    } else if (key == "timeoutSeconds") {
      if (!value.is_number() || !(value.get<double>() > 0) || value.get<double>() > 86400)
        bad(where + ".timeoutSeconds", "must be a number of seconds > 0", &value);
      e.timeout_s = value.get<double>();
    } else if (key == "grpc") {
      bad(where + ".grpc", "is a health check, only for lifehook.io/wait-for; use exec, httpGet, tcpSocket or sleep");
    } else {
      bad(where + "." + key,
          "is not a known field (" + kinds_text + ", " + (wait_for ? "name, " : "") + "timeoutSeconds)");
    }
  }
  if (kinds.size() != 1)
    bad(where, kinds.empty()
                   ? "must specify one of " + kinds_text
                   : "must specify exactly one of " + kinds_text + "; found " + kinds[0] + " and " + kinds[1]);
  e.kind = kinds[0];
  const json& spec = e.handler[e.kind];
  std::string p = where + "." + e.kind;
  if (!spec.is_object()) bad(p, "must be an object", &spec);
  if (e.kind == "exec") {
    auto cmd = spec.find("command");
    if (cmd == spec.end() || !cmd->is_array() || cmd->empty())
      bad(p + ".command", "must be a non-empty array of strings", cmd == spec.end() ? nullptr : &*cmd);
    std::string shown;
    for (size_t i = 0; i < cmd->size(); ++i) {
      if (!(*cmd)[i].is_string()) bad(p + ".command[" + std::to_string(i) + "]", "must be a string", &(*cmd)[i]);
      shown += (i ? " " : "") + (*cmd)[i].get<std::string>();
    }
    if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
    e.label = "exec [" + shown + "]";
  } else if (e.kind == "httpGet") {
    int port = check_port(spec, p);
    std::string path = "/";
    if (auto it = spec.find("path"); it != spec.end() && !it->is_null()) {
      if (!it->is_string()) bad(p + ".path", "must be a string", &*it);
      path = it->get<std::string>();
      if (path.empty() || path[0] != '/') path = "/" + path;
    }
    std::string scheme = "http";
    if (auto it = spec.find("scheme"); it != spec.end() && it->is_string() && !it->get<std::string>().empty()) {
      scheme = it->get<std::string>();
      for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    e.label = scheme + "://" + host_of(spec, p) + ":" + std::to_string(port) + path;
  } else if (e.kind == "tcpSocket") {
    int port = check_port(spec, p);
    e.label = "tcp " + host_of(spec, p) + ":" + std::to_string(port);
  } else if (e.kind == "grpc") {
    auto port = spec.find("port");
    if (port == spec.end() || !port->is_number_integer() || port->get<int64_t>() < 1 || port->get<int64_t>() > 65535)
      bad(p + ".port", "must be a port number between 1 and 65535", port == spec.end() ? nullptr : &*port);
    e.label = "grpc " + host_of(spec, p) + ":" + std::to_string(port->get<int64_t>());
    if (auto svc = spec.find("service"); svc != spec.end() && !svc->is_null()) {
      if (!svc->is_string()) bad(p + ".service", "must be a string", &*svc);
      if (!svc->get<std::string>().empty()) e.label += " service " + svc->get<std::string>();
    }
  } else {
    auto s = spec.find("seconds");
    if (s == spec.end() || !s->is_number() || !(s->get<double>() >= 0))
      bad(p + ".seconds", "must be a number of seconds >= 0", s == spec.end() ? nullptr : &*s);
    char buf[32];
    std::snprintf(buf, sizeof buf, "sleep %gs", s->get<double>());
    e.label = buf;
  }
  if (!name.empty()) e.label += " (" + name + ")";
  return e;
}

// The shortest wait-for period: a retry loop faster than this only burns the node's CPU (1 µs
// kept a core busy) without noticing a service any sooner.
constexpr double kMinPeriodSeconds = 0.01;

double parse_seconds(const std::string& text, double max, double min = 0) {
  json v = parse_value(text);
  bool number = v.is_number() && std::isfinite(v.get<double>());
  if (!number || !(v.get<double>() > 0) || v.get<double>() > max || v.get<double>() < min)
    bad("value",
        "must be a JSON number of seconds " + (min > 0 ? ">= " + json(min).dump() : std::string("> 0")) +
            " and <= " + std::to_string(static_cast<int64_t>(max)),
        &v);
  return v.get<double>();
}

}  // namespace

Annotations parse_annotations(const json& annotations) {
  Annotations a;
  static const std::set<std::string> known = {kWaitFor, kWaitForPeriod, kWaitForTimeout, kPostStart, kPostStop, kLog};
  if (!annotations.is_object()) return a;
  for (const auto& [key, value] : annotations.items()) {
    if (key.rfind(kPrefix, 0) != 0) continue;
    a.any = true;
    try {
      if (!known.count(key))
        throw HookError(
            "unknown lifehook annotation (known: lifehook.io/wait-for, wait-for-period, "
            "wait-for-timeout, post-start, post-stop, log)");
      if (!value.is_string()) bad("value", "must be a string holding JSON", &value);
      const std::string& text = value.get_ref<const std::string&>();
      if (key == kWaitFor) {
        json list = parse_value(text);
        if (!list.is_array()) bad("value", "must be a JSON array of handlers", &list);
        for (size_t i = 0; i < list.size(); ++i)
          a.wait_for.push_back(parse_handler(list[i], "[" + std::to_string(i) + "]", true));
        for (auto& e : a.wait_for) e.where = key + e.where;
      } else if (key == kWaitForPeriod) {
        a.wait_for_period_s = parse_seconds(text, 3600, kMinPeriodSeconds);
      } else if (key == kWaitForTimeout) {
        a.wait_for_timeout_s = parse_seconds(text, 86400);
      } else if (key == kPostStart || key == kPostStop) {
        HandlerEntry e = parse_handler(parse_value(text), "value", false);
        e.where = key;
        (key == kPostStart ? a.post_start : a.post_stop) = std::move(e);
      } else if (key == kLog) {
        // A plain path; a JSON string is accepted too, for symmetry with the other annotations.
        std::string path = text;
        if (!text.empty() && text[0] == '"') {
          json v = parse_value(text);
          if (!v.is_string()) bad("value", "must be an absolute file path", &v);
          path = v.get<std::string>();
        }
        if (path.empty() || path[0] != '/')
          throw HookError("value: must be an absolute file path (got \"" + path + "\")");
        a.log_path = path;
      }
    } catch (const HookError& err) {
      a.errors[key] = key + ": " + err.what();
    }
  }
  return a;
}

}  // namespace ocihook
