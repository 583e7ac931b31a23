#include "pod_checks.hpp"

#include <map>
#include <regex>
#include <set>

namespace lifehook_cli {
namespace {

const std::regex kDnsLabel(R"([a-z0-9]([-a-z0-9]*[a-z0-9])?)");
const std::regex kDnsSubdomain(R"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)");
const std::regex kPortName(R"([a-z0-9]([-a-z0-9]*[a-z0-9])?)");
const std::regex kRealtimeSignal(R"(SIGRTMIN(\+([1-9]|1[0-5]))?|SIGRTMAX(-([1-9]|1[0-4]))?)");

bool is_signal_name(const std::string& s) {
  static const std::set<std::string> names = {
      "SIGABRT", "SIGALRM", "SIGBUS",  "SIGCHLD", "SIGCONT", "SIGFPE",    "SIGHUP",  "SIGILL",  "SIGINT",
      "SIGIO",   "SIGKILL", "SIGPIPE", "SIGPROF", "SIGPWR",  "SIGQUIT",   "SIGSEGV", "SIGSTKFLT", "SIGSTOP",
      "SIGSYS",  "SIGTERM", "SIGTRAP", "SIGTSTP", "SIGTTIN", "SIGTTOU",   "SIGURG",  "SIGUSR1", "SIGUSR2",
      "SIGVTALRM", "SIGWINCH", "SIGXCPU", "SIGXFSZ"};
  return names.count(s) || std::regex_match(s, kRealtimeSignal);
}

// Collects problems for one pod; paths are relative to the pod and prefixed with its root.
class PodChecker {
 public:
  PodChecker(const PodManifest& pod, const CheckOptions& options) : pod_(pod), options_(options) {}

  std::vector<Problem> run() {
    check_metadata();
    const json* spec = object_field(pod_.pod, "spec", true);
    if (!spec) return std::move(problems_);
    check_restart_policy(*spec);
    check_grace(*spec);
    const json* init = array_field(*spec, "spec", "initContainers", false);
    const json* main = array_field(*spec, "spec", "containers", false);
    if (!main) {
      if (!spec->contains("containers") || (*spec)["containers"].is_null())
        add("spec.containers", "is required: a Pod needs at least one container");
    } else if (main->empty()) {
      add("spec.containers", "must not be empty: a Pod needs at least one container");
    }
    if (init) check_containers(*init, "spec.initContainers", true);
    if (main) check_containers(*main, "spec.containers", false);
    return std::move(problems_);
  }

 private:
  void add(const std::string& rel, const std::string& message) {
    std::string full = pod_.root_path.empty() ? rel : (rel.empty() ? pod_.root_path : pod_.root_path + "." + rel);
    problems_.push_back({full, pod_.lines ? pod_.lines->line_of(full) : 0, message});
  }

  const json* object_field(const json& parent, const std::string& path, bool required) {
    auto it = parent.find(path.substr(path.find_last_of('.') + 1));
    if (it == parent.end() || it->is_null()) {
      if (required) add(path, "is required");
      return nullptr;
    }
    if (!it->is_object()) {
      add(path, "must be a mapping (got " + value_text(*it) + ")");
      return nullptr;
    }
    return &*it;
  }

  const json* array_field(const json& parent, const std::string& parent_path, const char* key, bool required) {
    std::string path = join_path(parent_path, key);
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) {
      if (required) add(path, "is required");
      return nullptr;
    }
    if (!it->is_array()) {
      add(path, "must be a list (got " + value_text(*it) + ")");
      return nullptr;
    }
    return &*it;
  }

  // Returns the string or nullptr; reports a wrong type.
  const std::string* string_field(const json& parent, const std::string& parent_path, const char* key) {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return nullptr;
    if (!it->is_string()) {
      add(join_path(parent_path, key), "must be a string (got " + value_text(*it) + ")");
      return nullptr;
    }
    return it->get_ptr<const std::string*>();
  }

  void check_string_list(const json& parent, const std::string& parent_path, const char* key) {
    const json* list = array_field(parent, parent_path, key, false);
    if (!list) return;
    for (size_t i = 0; i < list->size(); ++i)
      if (!(*list)[i].is_string())
        add(index_path(join_path(parent_path, key), i), "must be a string (got " + value_text((*list)[i]) + ")");
  }

  void check_metadata() {
    const json* meta = object_field(pod_.pod, "metadata", true);
    if (!meta) return;
    auto name = meta->find("name");
    if (name == meta->end() || name->is_null()) {
      add("metadata.name", "is required");
    } else if (!name->is_string()) {
      add("metadata.name", "must be a string (got " + value_text(*name) + ")");
    } else {
      const std::string& n = name->get_ref<const std::string&>();
      if (n.size() > 253 || !std::regex_match(n, kDnsSubdomain))
        add("metadata.name",
            "must be a lowercase RFC 1123 name: a-z, 0-9, '-' and '.', starting and ending with a letter or digit "
            "(got " + value_text(*name) + ")");
    }
    string_field(*meta, "metadata", "namespace");
    string_field(*meta, "metadata", "uid");
  }

  void check_restart_policy(const json& spec) {
    const std::string* p = string_field(spec, "spec", "restartPolicy");
    if (p && *p != "Always" && *p != "OnFailure" && *p != "Never")
      add("spec.restartPolicy", "must be Always, OnFailure or Never (got " + value_text(*p) + ")");
  }

  void check_grace(const json& spec) {
    auto it = spec.find("terminationGracePeriodSeconds");
    if (it == spec.end() || it->is_null()) return;
    if (!it->is_number_integer())
      add("spec.terminationGracePeriodSeconds", "must be a whole number of seconds (got " + value_text(*it) + ")");
    else if (it->get<int64_t>() < 0)
      add("spec.terminationGracePeriodSeconds", "must be >= 0 (got " + value_text(*it) + ")");
  }

  void check_containers(const json& list, const std::string& list_path, bool init) {
    for (size_t i = 0; i < list.size(); ++i) {
      const json& c = list[i];
      std::string path = index_path(list_path, i);
      if (!c.is_object()) {
        add(path, "must be a container mapping (got " + value_text(c) + ")");
        continue;
      }
      check_container(c, path, init);
    }
  }

  void check_container(const json& c, const std::string& path, bool init) {
    // name
    auto name = c.find("name");
    std::string name_text;
    if (name == c.end() || name->is_null()) {
      add(join_path(path, "name"), "is required");
    } else if (!name->is_string()) {
      add(join_path(path, "name"), "must be a string (got " + value_text(*name) + ")");
    } else {
      name_text = name->get<std::string>();
      if (name_text.size() > 63 || !std::regex_match(name_text, kDnsLabel)) {
        add(join_path(path, "name"),
            "must be a lowercase RFC 1123 label: a-z, 0-9 and '-', at most 63 characters (got " +
                value_text(*name) + ")");
      } else {
        auto [it, fresh] = container_names_.emplace(name_text, join_path(path, "name"));
        if (!fresh)
          add(join_path(path, "name"), "duplicate container name " + value_text(*name) + " (also " + it->second + ")");
      }
    }

    // command: the process driver runs commands, not images
    auto command = c.find("command");
    bool has_command = command != c.end() && !command->is_null();
    if (has_command) {
      check_string_list(c, path, "command");
      if (command->is_array() && command->empty()) has_command = false;
    }
    if (!has_command && options_.driver == "process") {
      std::string image = c.contains("image") && c["image"].is_string() ? c["image"].get<std::string>() : "";
      add(join_path(path, "command"),
          "is required: the process driver runs commands, not images" +
              (image.empty() ? std::string() : " (image " + value_text(image) + " is not used)") +
              "; give a command, or use --driver oci");
    }
    check_string_list(c, path, "args");
    string_field(c, path, "image");
    string_field(c, path, "workingDir");
    check_env(c, path);
    std::set<std::string> port_names = check_ports(c, path);

    // lifecycle
    auto lifecycle = c.find("lifecycle");
    if (lifecycle == c.end() || lifecycle->is_null()) return;
    std::string lpath = join_path(path, "lifecycle");
    if (!lifecycle->is_object()) {
      add(lpath, "must be a mapping (got " + value_text(*lifecycle) + ")");
      return;
    }
    bool sidecar = c.contains("restartPolicy") && c["restartPolicy"] == "Always";
    if (init && !sidecar) {
      add(lpath, "must not be set for init containers (hooks run only for regular containers and sidecars)");
      return;
    }
    for (const char* hook : {"postStart", "preStop"}) {
      auto h = lifecycle->find(hook);
      if (h == lifecycle->end() || h->is_null()) continue;
      check_handler(*h, join_path(lpath, hook), port_names);
    }
    const std::string* sig = string_field(*lifecycle, lpath, "stopSignal");
    if (sig && !is_signal_name(*sig))
      add(join_path(lpath, "stopSignal"), "must be a signal name such as SIGTERM or SIGQUIT (got " + value_text(*sig) + ")");
  }

  void check_env(const json& c, const std::string& path) {
    const json* env = array_field(c, path, "env", false);
    if (!env) return;
    for (size_t i = 0; i < env->size(); ++i) {
      const json& e = (*env)[i];
      std::string p = index_path(join_path(path, "env"), i);
      if (!e.is_object()) {
        add(p, "must be a mapping with name and value (got " + value_text(e) + ")");
        continue;
      }
      auto n = e.find("name");
      if (n == e.end() || !n->is_string() || n->get<std::string>().empty())
        add(join_path(p, "name"), n == e.end() ? "is required" : "must be a non-empty string (got " + value_text(*n) + ")");
      auto v = e.find("value");
      if (v != e.end() && !v->is_null() && !v->is_string())
        add(join_path(p, "value"), "must be a string; quote it (got " + value_text(*v) + ")");
    }
  }

  std::set<std::string> check_ports(const json& c, const std::string& path) {
    std::set<std::string> names;
    const json* ports = array_field(c, path, "ports", false);
    if (!ports) return names;
    for (size_t i = 0; i < ports->size(); ++i) {
      const json& p = (*ports)[i];
      std::string pp = index_path(join_path(path, "ports"), i);
      if (!p.is_object()) {
        add(pp, "must be a mapping with containerPort (got " + value_text(p) + ")");
        continue;
      }
      auto cp = p.find("containerPort");
      if (cp == p.end() || cp->is_null())
        add(join_path(pp, "containerPort"), "is required");
      else if (!cp->is_number_integer() || cp->get<int64_t>() < 1 || cp->get<int64_t>() > 65535)
        add(join_path(pp, "containerPort"), "must be a port number between 1 and 65535 (got " + value_text(*cp) + ")");
      const std::string* name = string_field(p, pp, "name");
      if (name) {
        bool has_letter = name->find_first_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos;
        if (name->size() > 15 || !has_letter || !std::regex_match(*name, kPortName) ||
            name->find("--") != std::string::npos)
          add(join_path(pp, "name"),
              "must be a port name: at most 15 characters a-z, 0-9 and '-', with a letter (got " + value_text(*name) +
                  ")");
        else if (!names.insert(*name).second)
          add(join_path(pp, "name"), "duplicate port name " + value_text(*name));
      }
    }
    return names;
  }

  void check_port_ref(const json& h, const std::string& hpath, const std::set<std::string>& port_names) {
    std::string p = join_path(hpath, "port");
    auto port = h.find("port");
    if (port == h.end() || port->is_null()) {
      add(p, "is required");
    } else if (port->is_number_integer()) {
      if (port->get<int64_t>() < 1 || port->get<int64_t>() > 65535)
        add(p, "must be between 1 and 65535 (got " + value_text(*port) + ")");
    } else if (port->is_string()) {
      const std::string& s = port->get_ref<const std::string&>();
      bool numeric = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
      if (!numeric && !port_names.count(s)) {
        std::string known;
        for (const auto& n : port_names) known += (known.empty() ? "" : ", ") + n;
        add(p, "names no port of this container (got " + value_text(*port) + "; " +
                   (known.empty() ? std::string("the container declares no named ports")
                                  : "its ports are named " + known) +
                   ")");
      }
    } else {
      add(p, "must be a port number or a port name (got " + value_text(*port) + ")");
    }
  }

  void check_handler(const json& h, const std::string& hpath, const std::set<std::string>& port_names) {
    if (!h.is_object()) {
      add(hpath, "must be a mapping with one of exec, httpGet, tcpSocket, sleep (got " + value_text(h) + ")");
      return;
    }
    std::vector<std::string> kinds;
    for (const char* k : {"exec", "httpGet", "tcpSocket", "sleep", "grpc"})
      if (h.contains(k) && !h[k].is_null()) kinds.push_back(k);
    if (kinds.empty()) {
      add(hpath, "must specify one of exec, httpGet, tcpSocket, sleep");
      return;
    }
    if (kinds.size() > 1) {
      add(hpath, "must specify exactly one of exec, httpGet, tcpSocket, sleep (found " + kinds[0] + " and " +
                     kinds[1] + ")");
      return;
    }
    const std::string& kind = kinds[0];
    std::string kpath = join_path(hpath, kind);
    const json& spec = h[kind];
    if (kind == "grpc") {
      add(kpath, "is not a lifecycle handler; use exec, httpGet, tcpSocket or sleep");
      return;
    }
    if (!spec.is_object()) {
      add(kpath, "must be a mapping (got " + value_text(spec) + ")");
      return;
    }
    if (kind == "exec") {
      auto cmd = spec.find("command");
      if (cmd == spec.end() || cmd->is_null())
        add(join_path(kpath, "command"), "is required");
      else if (!cmd->is_array() || cmd->empty())
        add(join_path(kpath, "command"), "must be a non-empty list of strings (got " + value_text(*cmd) + ")");
      else
        check_string_list(spec, kpath, "command");
    } else if (kind == "httpGet" || kind == "tcpSocket") {
      check_port_ref(spec, kpath, port_names);
      string_field(spec, kpath, "host");
      if (kind == "httpGet") {
        string_field(spec, kpath, "path");
        const std::string* scheme = string_field(spec, kpath, "scheme");
        if (scheme && *scheme != "HTTP" && *scheme != "HTTPS")
          add(join_path(kpath, "scheme"), "must be HTTP or HTTPS (got " + value_text(*scheme) + ")");
      }
    } else if (kind == "sleep") {
      auto s = spec.find("seconds");
      if (s == spec.end() || s->is_null())
        add(join_path(kpath, "seconds"), "is required");
      else if (!s->is_number() || s->get<double>() < 0)
        add(join_path(kpath, "seconds"), "must be a number of seconds >= 0 (got " + value_text(*s) + ")");
    }
  }

  const PodManifest& pod_;
  const CheckOptions& options_;
  std::vector<Problem> problems_;
  std::map<std::string, std::string> container_names_;  // name → path of its first use
};

}  // namespace

std::vector<Problem> check_pod(const PodManifest& pod, const CheckOptions& options) {
  return PodChecker(pod, options).run();
}

std::vector<Problem> check_distinct_pod_names(const std::vector<PodManifest>& pods) {
  std::vector<Problem> problems;
  std::map<std::string, std::string> seen;
  for (const auto& p : pods) {
    if (p.name.empty()) continue;
    std::string path = p.root_path.empty() ? "metadata.name" : p.root_path + ".metadata.name";
    auto [it, fresh] = seen.emplace(p.name, path);
    if (!fresh)
      problems.push_back({path, p.lines ? p.lines->line_of(path) : 0,
                          "duplicate pod name " + value_text(p.name) + " (also " + it->second + ")"});
  }
  return problems;
}

}  // namespace lifehook_cli
