#include "spec.hpp"

#include <signal.h>

#include <cstdio>
#include <random>
#include <set>

#include "../common/json_document.hpp"
#include "../errors.hpp"

namespace lifehook::pod {

namespace {

// RFC 1123 label, as the API server requires for container names.
bool is_dns_label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return s.front() != '-' && s.back() != '-';
}

std::string random_uid() {
  std::random_device rd;
  unsigned char b[16];
  for (auto& x : b) x = static_cast<unsigned char>(rd());
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // variant
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::vector<std::string> string_list(const json& obj, const char* key, const std::string& path,
                                     const std::vector<EnvVar>& env) {
  std::vector<std::string> out;
  const json* v = field(obj, key);
  if (!v) return out;
  std::string p = path + "." + key;
  if (!v->is_array()) throw_invalid(p, "must be an array of strings", json_value_text(*v));
  for (size_t i = 0; i < v->size(); ++i) {
    const json& a = (*v)[i];
    std::string pi = p + "[" + std::to_string(i) + "]";
    if (!a.is_string()) throw_invalid(pi, "must be a string", json_value_text(a));
    std::string s = expand_vars(a.get<std::string>(), env);
    if (s.find('\0') != std::string::npos) throw_invalid(pi, "must not contain NUL");
    out.push_back(std::move(s));
  }
  return out;
}

ContainerSpec parse_container(const json& j, const std::string& path, bool init, size_t index) {
  require_object(j, path);
  ContainerSpec c;
  c.path = path;
  c.init = init;
  c.index = index;
  c.raw = j;
  c.name = get_string(j, "name", path, true);
  if (!is_dns_label(c.name))
    throw_invalid(path + ".name", "must be a lowercase RFC 1123 label (a-z, 0-9, '-', at most 63 characters)",
                  json_value_text(j["name"]));
  c.image = get_string(j, "image", path);
  c.env = parse_env(j.value("env", json()), path + ".env");
  c.ports = parse_ports(j.value("ports", json()), path + ".ports");
  c.command = string_list(j, "command", path, c.env);
  c.args = string_list(j, "args", path, c.env);
  c.working_dir = get_string(j, "workingDir", path);
  if (!c.working_dir.empty() && c.working_dir.front() != '/')
    throw_invalid(path + ".workingDir", "must be an absolute path", json_value_text(j["workingDir"]));
  if (init) {
    std::string rp = get_string(j, "restartPolicy", path);
    if (!rp.empty() && rp != "Always")
      throw_invalid(path + ".restartPolicy", "may only be \"Always\" for an init container",
                    json_value_text(j["restartPolicy"]));
    c.restartable = rp == "Always";
  } else if (field(j, "restartPolicy")) {
    throw_invalid(path + ".restartPolicy", "may not be set for regular containers",
                  json_value_text(j["restartPolicy"]));
  }
  if (const json* lc = field(j, "lifecycle")) {
    std::string lp = path + ".lifecycle";
    require_object(*lc, lp);
    if (init && !c.restartable)
      throw_invalid(lp, "may not be set for init containers without restartPolicy=Always", json_value_text(*lc));
    if (const json* h = field(*lc, "postStart"))
      c.post_start = parse_lifecycle_handler(*h, lp + ".postStart", c.ports, c.env);
    if (const json* h = field(*lc, "preStop"))
      c.pre_stop = parse_lifecycle_handler(*h, lp + ".preStop", c.ports, c.env);
    std::string sig = get_string(*lc, "stopSignal", lp);
    if (!sig.empty()) {
      c.stop_signal = signal_from_name(sig);
      if (c.stop_signal == 0)
        throw_invalid(lp + ".stopSignal", "must be a signal name such as SIGTERM",
                      json_value_text((*lc)["stopSignal"]));
    }
  }
  if (init && !c.restartable) {
    for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"})
      if (field(j, probe))
        throw_invalid(path + "." + probe, "may not be set for init containers without restartPolicy=Always");
  }
  for (auto [type, slot] : {std::pair{probe::ProbeType::Liveness, &c.liveness_probe},
                            std::pair{probe::ProbeType::Readiness, &c.readiness_probe},
                            std::pair{probe::ProbeType::Startup, &c.startup_probe}}) {
    std::string key(probe::probe_field_name(type));
    if (const json* p = field(j, key.c_str())) *slot = probe::parse_probe(*p, path + "." + key, type, c.ports, c.env);
  }
  return c;
}

}  // namespace

int signal_from_name(std::string_view name) {
  if (name.substr(0, 3) == "SIG") name.remove_prefix(3);
  static const std::pair<const char*, int> table[] = {
      {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},   {"TRAP", SIGTRAP},
      {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},     {"KILL", SIGKILL}, {"USR1", SIGUSR1},
      {"SEGV", SIGSEGV},     {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
      {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
      {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
      {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"PWR", SIGPWR},
      {"SYS", SIGSYS}};
  for (const auto& [n, s] : table)
    if (name == n) return s;
  // SIGRTMIN+N / SIGRTMAX-N, as Kubernetes accepts them
  auto rt = [&](std::string_view prefix, int base, int sign) -> int {
    if (name.substr(0, prefix.size()) != prefix) return 0;
    std::string_view rest = name.substr(prefix.size());
    if (rest.empty()) return base;
    if (rest[0] != (sign > 0 ? '+' : '-') || rest.size() < 2) return 0;
    int n = 0;
    for (char ch : rest.substr(1)) {
      if (ch < '0' || ch > '9') return 0;
      n = n * 10 + (ch - '0');
    }
    int s = base + sign * n;
    return s >= SIGRTMIN && s <= SIGRTMAX ? s : 0;
  };
  if (int s = rt("RTMIN", SIGRTMIN, 1)) return s;
  if (int s = rt("RTMAX", SIGRTMAX, -1)) return s;
  return 0;
}

std::string_view restart_policy_name(RestartPolicy p) {
  switch (p) {
    case RestartPolicy::OnFailure: return "OnFailure";
    case RestartPolicy::Never: return "Never";
    case RestartPolicy::Always: break;
  }
  return "Always";
}

std::string format_pod(const PodSpec& p) { return p.name + "_" + p.namespace_ + "(" + p.uid + ")"; }

PodSpec parse_pod_json(const json& j) {
  require_object(j, "pod");
  PodSpec pod;
  pod.raw = j;
  if (const json* kind = field(j, "kind"))
    if (!kind->is_string() || kind->get<std::string>() != "Pod")
      throw_invalid("kind", "must be \"Pod\"", json_value_text(*kind));
  const json* meta = field(j, "metadata");
  if (!meta) throw_invalid("metadata", "is required");
  require_object(*meta, "metadata");
  pod.name = get_string(*meta, "name", "metadata", true);
  if (pod.name.empty() || pod.name.size() > 253 || pod.name.find_first_of("/_\n\t ") != std::string::npos)
    throw_invalid("metadata.name", "must be a non-empty DNS subdomain name", json_value_text((*meta)["name"]));
  std::string ns = get_string(*meta, "namespace", "metadata");
  if (!ns.empty()) pod.namespace_ = ns;
  pod.uid = get_string(*meta, "uid", "metadata");
  if (pod.uid.empty()) pod.uid = random_uid();

  const json* spec = field(j, "spec");
  if (!spec) throw_invalid("spec", "is required");
  require_object(*spec, "spec");
  std::string rp = get_string(*spec, "restartPolicy", "spec");
  if (rp.empty() || rp == "Always")
    pod.restart_policy = RestartPolicy::Always;
  else if (rp == "OnFailure")
    pod.restart_policy = RestartPolicy::OnFailure;
  else if (rp == "Never")
    pod.restart_policy = RestartPolicy::Never;
  else
    throw_invalid("spec.restartPolicy", "must be Always, OnFailure or Never",
                  json_value_text((*spec)["restartPolicy"]));

  if (const json* g = field(*spec, "terminationGracePeriodSeconds")) {
    if (!g->is_number_integer())
      throw_invalid("spec.terminationGracePeriodSeconds", "must be an integer number of seconds", json_value_text(*g));
    int64_t s = g->get<int64_t>();
    if (s < 0) throw_invalid("spec.terminationGracePeriodSeconds", "must be >= 0", json_value_text(*g));
    if (s > 10 * 365 * 86400LL)
      throw_invalid("spec.terminationGracePeriodSeconds", "is unreasonably large", json_value_text(*g));
    pod.grace_ms = s * 1000;
  }

  std::set<std::string> names;
  auto parse_list = [&](const char* key, bool init, std::vector<ContainerSpec>& out) {
    const json* list = field(*spec, key);
    std::string p = std::string("spec.") + key;
    if (!list) return;
    if (!list->is_array()) throw_invalid(p, "must be an array", json_value_text(*list));
    for (size_t i = 0; i < list->size(); ++i) {
      std::string cp = p + "[" + std::to_string(i) + "]";
      ContainerSpec c = parse_container((*list)[i], cp, init, i);
      if (!names.insert(c.name).second)
        throw_invalid(cp + ".name", "duplicate container name", json_value_text(c.name));
      out.push_back(std::move(c));
    }
  };
  parse_list("initContainers", true, pod.init_containers);
  parse_list("containers", false, pod.containers);
  if (pod.containers.empty()) throw_invalid("spec.containers", "must contain at least one container");
  return pod;
}

PodSpec parse_pod(std::string_view text) { return parse_pod_json(parse_json_document(text, "pod")); }

}  // namespace lifehook::pod
