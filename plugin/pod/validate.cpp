#include "validate.hpp"

#include <algorithm>
#include <set>

namespace lifehook::pod {

namespace {

// What the engine itself implements (plugin/pod/spec.cpp parses these; the rest of plugin/pod
// acts on them). Anything else is the driver's (Driver::implemented_fields) or ignored.
const std::set<std::string> kPodFields = {"apiVersion", "kind", "metadata", "spec"};
const std::set<std::string> kSpecFields = {"containers",     "initContainers",
                                           "restartPolicy",  "terminationGracePeriodSeconds",
                                           "readinessGates", "activeDeadlineSeconds"};
// The probes are the engine's too (plugin/probe, run for the pod's containers by plugin/pod).
const std::set<std::string> kContainerFields = {"name",
                                                "command",
                                                "args",
                                                "env",
                                                "ports",
                                                "workingDir",
                                                "lifecycle",
                                                "restartPolicy",
                                                "livenessProbe",
                                                "readinessProbe",
                                                "startupProbe",
                                                "terminationMessagePath",
                                                "terminationMessagePolicy"};
const std::set<std::string> kPortFields = {"name", "containerPort", "protocol"};

// Fields a scheduler acts on: on one node there is nothing to decide.
const std::set<std::string> kSchedulingFields = {"nodeName",          "nodeSelector",     "affinity",
                                                 "tolerations",       "schedulerName",    "priority",
                                                 "priorityClassName", "preemptionPolicy", "topologySpreadConstraints",
                                                 "schedulingGates",   "runtimeClassName", "overhead"};

// An empty value asks for nothing ("resources: {}", "volumeMounts: []"): no warning for it.
bool asks_for_something(const json& v) {
  if (v.is_null()) return false;
  if ((v.is_object() || v.is_array()) && v.empty()) return false;
  return true;
}

class FieldWalk {
 public:
  FieldWalk(const PodSpec& spec, const drivers::Driver& driver) : spec_(spec) {
    for (const auto& f : driver.implemented_fields()) driver_fields_.insert(f);
    whole_container_ = driver_fields_.count("*") > 0;
    driver_name_ = whole_container_ ? "the host's driver" : std::string("the ") + driver.name() + " driver";
  }

  std::vector<Finding> run() {
    const json& j = spec_.raw;
    if (!j.is_object()) return {};
    for (const auto& [key, value] : j.items()) {
      if (kPodFields.count(key) || !asks_for_something(value)) continue;
      if (key == "status")
        warn("status", "is reported by the node, never read from the manifest; ignored");
      else
        warn(key, "is not a Pod field lifehook knows; ignored");
    }
    const json* spec = field(j, "spec");
    if (!spec || !spec->is_object()) return std::move(out_);
    for (const auto& [key, value] : spec->items()) {
      if (kSpecFields.count(key) || !asks_for_something(value) || driver_fields_.count("spec." + key)) continue;
      std::string path = "spec." + key;
      if (kSchedulingFields.count(key))
        warn(path, "is for a scheduler; lifehook runs the pod on this machine; ignored");
      else
        warn(path, "is not implemented by lifehook or " + driver_name_ + "; ignored");
    }
    for (const auto* list : {&spec_.init_containers, &spec_.containers})
      for (const auto& c : *list) container(c);
    return std::move(out_);
  }

 private:
  void warn(const std::string& path, const std::string& message) {
    out_.push_back(Finding{path, message, LIFEHOOK_OK});
  }

  void container(const ContainerSpec& c) {
    if (!c.raw.is_object()) return;
    for (const auto& [key, value] : c.raw.items()) {
      if (!asks_for_something(value)) continue;
      std::string path = c.path + "." + key;
      if (key == "ports" && value.is_array()) {
        ports(c, value);
        continue;
      }
      if (kContainerFields.count(key)) continue;
      if (value.is_object() && has_implemented_children(key)) {
        for (const auto& [sub, subvalue] : value.items())
          if (asks_for_something(subvalue) && !driver_fields_.count(key + "." + sub))
            warn(path + "." + sub, "is not implemented by " + driver_name_ + "; ignored");
        continue;
      }
      if (driver_fields_.count(key) || whole_container_) continue;
      if (key == "image" || key == "imagePullPolicy")
        warn(path, std::string("is not used: ") + driver_name_ + " runs the container's command (no image is pulled)");
      else if (key == "resources")
        warn(path, "is not enforced by " + driver_name_ + " (status.qosClass is computed from it); ignored");
      else
        warn(path, "is not implemented by lifehook or " + driver_name_ + "; ignored");
    }
  }

  void ports(const ContainerSpec& c, const json& list) {
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_object()) continue;
      for (const auto& [key, value] : list[i].items())
        if (!kPortFields.count(key) && asks_for_something(value))
          warn(c.path + ".ports[" + std::to_string(i) + "]." + key,
               "is not implemented (the container's ports are only names for handlers); ignored");
    }
  }

  // A driver that implements some fields of an object ("securityContext.runAsUser") is asked field by field.
  bool has_implemented_children(const std::string& key) const {
    std::string prefix = key + ".";
    return std::any_of(driver_fields_.begin(), driver_fields_.end(),
                       [&](const std::string& f) { return f.compare(0, prefix.size(), prefix) == 0; });
  }

  const PodSpec& spec_;
  std::set<std::string> driver_fields_;
  bool whole_container_ = false;  // a host's driver: it gets the Container JSON and decides
  std::string driver_name_;
  std::vector<Finding> out_;
};

bool has_problem_under(const std::vector<Finding>& known, const std::string& path) {
  return std::any_of(known.begin(), known.end(), [&](const Finding& f) {
    return f.path == path || (f.path.size() > path.size() && f.path.compare(0, path.size(), path) == 0 &&
                              (f.path[path.size()] == '.' || f.path[path.size()] == '['));
  });
}

}  // namespace

std::vector<Finding> unimplemented_fields(const PodSpec& spec, const drivers::Driver& driver) {
  std::vector<Finding> out = spec.warnings;  // what parsing coerced (a negative grace)
  std::vector<Finding> more = FieldWalk(spec, driver).run();
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

void check_with_driver(const PodSpec& spec, const drivers::Driver& driver, const std::vector<Finding>& known,
                       std::vector<Finding>& out) {
  // Driver::validate takes a pod and stops at its first problem: ask it about one container at a time.
  Problems problems;
  for (const auto* list : {&spec.init_containers, &spec.containers})
    for (const auto& c : *list) {
      // What a driver checks is built from these; a problem in them leaves the spec partial.
      if (std::any_of(known.begin(), known.end(), [&](const Finding& f) { return f.path == c.path; }) ||
          has_problem_under(known, c.path + ".command") || has_problem_under(known, c.path + ".args") ||
          has_problem_under(known, c.path + ".env"))
        continue;
      PodSpec one;
      one.name = spec.name;
      one.namespace_ = spec.namespace_;
      one.uid = spec.uid;
      one.restart_policy = spec.restart_policy;
      one.grace_ms = spec.grace_ms;
      (c.init ? one.init_containers : one.containers).push_back(c);
      Problems::step(&problems, [&] { driver.validate(one); });
    }
  out.insert(out.end(), problems.list.begin(), problems.list.end());
}

json findings_json(const std::vector<Finding>& list) {
  json out = json::array();
  for (const auto& f : list) out.push_back({{"path", f.path}, {"message", f.message}});
  return out;
}

json validation_json(const Validation& v) {
  return {
      {"valid", v.problems.empty()}, {"problems", findings_json(v.problems)}, {"warnings", findings_json(v.warnings)}};
}

}  // namespace lifehook::pod
