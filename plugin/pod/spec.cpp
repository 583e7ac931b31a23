#include "spec.hpp"

#include <signal.h>

#include <cstdio>
#include <map>
#include <random>

#include "../common/errors.hpp"
#include "../common/json_document.hpp"

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

ContainerSpec parse_container(const json& j, const std::string& path, bool init, size_t index, Problems* pr) {
  require_object(j, path);
  ContainerSpec c;
  c.path = path;
  c.init = init;
  c.index = index;
  c.raw = j;
  // Each field is one step: with a collector, a bad field is reported and the next one is read.
  auto step = [pr](auto&& f) { return Problems::step(pr, f); };
  step([&] {
    c.name = get_string(j, "name", path, true);
    if (!is_dns_label(c.name))
      throw_invalid(path + ".name", "must be a lowercase RFC 1123 label (a-z, 0-9, '-', at most 63 characters)",
                    json_value_text(j["name"]));
  });
  step([&] { c.image = get_string(j, "image", path); });
  step([&] { c.env = parse_env(j.value("env", json()), path + ".env"); });
  step([&] { c.ports = parse_ports(j.value("ports", json()), path + ".ports"); });
  step([&] { c.command = string_list(j, "command", path, c.env); });
  step([&] { c.args = string_list(j, "args", path, c.env); });
  step([&] {
    c.working_dir = get_string(j, "workingDir", path);
    if (!c.working_dir.empty() && c.working_dir.front() != '/')
      throw_invalid(path + ".workingDir", "must be an absolute path", json_value_text(j["workingDir"]));
  });
  step([&] {
    // pkg/apis/core/v1/defaults.go: SetDefaults_Container fills in both.
    std::string tmp = get_string(j, "terminationMessagePath", path);
    if (tmp.size() > 4096)
      throw_invalid(path + ".terminationMessagePath", "must be at most 4096 bytes", json_value_text(tmp.substr(0, 64)));
    if (tmp.find('\0') != std::string::npos) throw_invalid(path + ".terminationMessagePath", "must not contain NUL");
    if (!tmp.empty()) c.termination_message_path = tmp;
  });
  step([&] {
    std::string pol = get_string(j, "terminationMessagePolicy", path);
    if (pol.empty() || pol == "File")
      c.termination_message_policy = TerminationMessagePolicy::File;
    else if (pol == "FallbackToLogsOnError")
      c.termination_message_policy = TerminationMessagePolicy::FallbackToLogsOnError;
    else
      throw_invalid(path + ".terminationMessagePolicy", "must be File or FallbackToLogsOnError",
                    json_value_text(j["terminationMessagePolicy"]));
  });
  step([&] {
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
  });
  if (const json* lc = field(j, "lifecycle")) {
    std::string lp = path + ".lifecycle";
    bool usable = step([&] {
      require_object(*lc, lp);
      if (init && !c.restartable)
        throw_invalid(lp, "may not be set for init containers without restartPolicy=Always", json_value_text(*lc));
    });
    if (usable) {
      step([&] {
        if (const json* h = field(*lc, "postStart"))
          c.post_start = parse_lifecycle_handler(*h, lp + ".postStart", c.ports, c.env);
      });
      step([&] {
        if (const json* h = field(*lc, "preStop"))
          c.pre_stop = parse_lifecycle_handler(*h, lp + ".preStop", c.ports, c.env);
      });
      step([&] {
        std::string sig = get_string(*lc, "stopSignal", lp);
        if (!sig.empty()) {
          c.stop_signal = signal_from_name(sig);
          if (c.stop_signal == 0)
            throw_invalid(lp + ".stopSignal", "must be a signal name such as SIGTERM",
                          json_value_text((*lc)["stopSignal"]));
        }
      });
    }
  }
  if (init && !c.restartable) {
    for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"})
      step([&] {
        if (field(j, probe))
          throw_invalid(path + "." + probe, "may not be set for init containers without restartPolicy=Always");
      });
  }
  for (auto entry : {std::pair{probe::ProbeType::Liveness, &c.liveness_probe},
                     std::pair{probe::ProbeType::Readiness, &c.readiness_probe},
                     std::pair{probe::ProbeType::Startup, &c.startup_probe}}) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    probe::ProbeType type = entry.first;
    std::optional<probe::ProbeSpec>* slot = entry.second;
    std::string key(probe::probe_field_name(type));
    if (const json* p = field(j, key.c_str()); p && (!init || c.restartable))
      step([&] { *slot = probe::parse_probe(*p, path + "." + key, type, c.ports, c.env); });
  }
  return c;
}

}  // namespace

// A qualified name ([prefix/]name, name: alphanumerics, '-', '_', '.', at most 63, starting and
// ending alphanumeric; prefix: a DNS subdomain), as condition types and readiness gates are.
bool is_qualified_name(const std::string& s) {
  size_t slash = s.find('/');
  std::string name = slash == std::string::npos ? s : s.substr(slash + 1);
  std::string prefix = slash == std::string::npos ? "" : s.substr(0, slash);
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > 63 || !alnum(name.front()) || !alnum(name.back())) return false;
  for (char c : name)
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  if (slash != std::string::npos) {
    if (prefix.empty() || prefix.size() > 253) return false;
    for (char c : prefix)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return true;
}

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

std::string format_pod(const PodSpec& p) { return p.name + "_" + p.namespace_ + "(" + p.uid + ")"; }

void Problems::add(const std::exception& e) {
  // Our messages are "<path>: <why>"; the path is everything before the first ": ".
  std::string text = e.what();
  Finding f;
  if (const auto* err = dynamic_cast<const Error*>(&e)) f.status = err->status();
  size_t colon = text.find(": ");
  if (colon != std::string::npos && colon > 0 && text.find(' ') > colon) {
    f.path = text.substr(0, colon);
    f.message = text.substr(colon + 2);
  } else {
    f.path = "pod";
    f.message = text;
  }
  list.push_back(std::move(f));
}

PodSpec parse_pod_json(const json& j, Problems* pr) {
  require_object(j, "pod");
  auto step = [pr](auto&& f) { return Problems::step(pr, f); };
  PodSpec pod;
  pod.raw = j;
  step([&] {
    if (const json* kind = field(j, "kind"))
      if (!kind->is_string() || kind->get<std::string>() != "Pod")
        throw_invalid("kind", "must be \"Pod\"", json_value_text(*kind));
  });
  const json* meta = field(j, "metadata");
  bool meta_ok = step([&] {
    if (!meta) throw_invalid("metadata", "is required");
    require_object(*meta, "metadata");
  });
  if (meta_ok) {
    step([&] {
      pod.name = get_string(*meta, "name", "metadata", true);
      if (pod.name.empty() || pod.name.size() > 253 || pod.name.find_first_of("/_\n\t ") != std::string::npos)
        throw_invalid("metadata.name", "must be a non-empty DNS subdomain name", json_value_text((*meta)["name"]));
    });
    step([&] {
      std::string ns = get_string(*meta, "namespace", "metadata");
      if (!ns.empty()) pod.namespace_ = ns;
    });
    step([&] { pod.uid = get_string(*meta, "uid", "metadata"); });
  }
  if (pod.uid.empty()) pod.uid = random_uid();

  const json* spec = field(j, "spec");
  bool spec_ok = step([&] {
    if (!spec) throw_invalid("spec", "is required");
    require_object(*spec, "spec");
  });
  if (!spec_ok) return pod;
  step([&] {
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
  });

  step([&] {
    if (const json* g = field(*spec, "terminationGracePeriodSeconds")) {
      if (!g->is_number_integer())
        throw_invalid("spec.terminationGracePeriodSeconds", "must be an integer number of seconds",
                      json_value_text(*g));
      int64_t s = g->get<int64_t>();
      if (s < 0) {
        // The API server accepts it with a warning and stores 1 (pkg/api/pod/warnings.go,
        // pkg/registry/core/pod/strategy.go).
        pod.warnings.push_back(Finding{"spec.terminationGracePeriodSeconds",
                                       "must be >= 0; negative values are invalid and will be treated as 1",
                                       LIFEHOOK_OK});
        s = 1;
      }
      if (s > 10 * 365 * 86400LL)
        throw_invalid("spec.terminationGracePeriodSeconds", "is unreasonably large", json_value_text(*g));
      pod.grace_ms = s * 1000;
    }
  });

  step([&] {
    const json* gates = field(*spec, "readinessGates");
    if (!gates) return;
    if (!gates->is_array()) throw_invalid("spec.readinessGates", "must be an array", json_value_text(*gates));
    for (size_t i = 0; i < gates->size(); ++i) {
      std::string p = "spec.readinessGates[" + std::to_string(i) + "]";
      require_object((*gates)[i], p);
      std::string type = get_string((*gates)[i], "conditionType", p, true);
      if (!is_qualified_name(type))
        throw_invalid(p + ".conditionType", "must be a qualified name such as example.com/feature-1",
                      json_value_text(type));
      pod.readiness_gates.push_back(type);
    }
  });
  step([&] {
    const json* d = field(*spec, "activeDeadlineSeconds");
    if (!d) return;
    if (!d->is_number_integer() || d->get<int64_t>() < 1 || d->get<int64_t>() > 10 * 365 * 86400LL)
      throw_invalid("spec.activeDeadlineSeconds", "must be a whole number of seconds from 1 to 315360000 (10 years)",
                    json_value_text(*d));
    pod.active_deadline_s = d->get<int64_t>();
  });

  std::map<std::string, std::string> names;  // name -> path of its first use
  auto parse_list = [&](const char* key, bool init, std::vector<ContainerSpec>& out) {
    const json* list = field(*spec, key);
    std::string p = std::string("spec.") + key;
    if (!list) return;
    if (!step([&] {
          if (!list->is_array()) throw_invalid(p, "must be an array", json_value_text(*list));
        }))
      return;
    for (size_t i = 0; i < list->size(); ++i) {
      std::string cp = p + "[" + std::to_string(i) + "]";
      step([&] {
        ContainerSpec c = parse_container((*list)[i], cp, init, i, pr);
        if (!c.name.empty()) {
          auto [it, fresh] = names.emplace(c.name, cp + ".name");
          if (!fresh)
            throw_invalid(cp + ".name",
                          "duplicate container name " + json_value_text(c.name) + " (also " + it->second + ")");
        }
        out.push_back(std::move(c));
      });
    }
  };
  parse_list("initContainers", true, pod.init_containers);
  parse_list("containers", false, pod.containers);
  step([&] {
    const json* list = field(*spec, "containers");
    if (pod.containers.empty() && (!list || (list->is_array() && list->empty())))
      throw_invalid("spec.containers", "must contain at least one container");
  });
  return pod;
}

PodSpec parse_pod(std::string_view text, Problems* problems) {
  return parse_pod_json(parse_json_document(text, "pod"), problems);
}

}  // namespace lifehook::pod
