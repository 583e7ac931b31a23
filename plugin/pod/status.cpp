#include "status.hpp"

#include <algorithm>
#include <cstdio>

#include "../common/errors.hpp"
#include "events.hpp"
#include "qos.hpp"
#include "termination_message.hpp"
#include "validate.hpp"

namespace lifehook::pod {

namespace {

bool succeeded(const ContainerStatus& s) { return s.kind == StateKind::Terminated && s.terminated.exit_code == 0; }

bool running_and_ready(const ContainerStatus& s) { return s.ready && s.kind == StateKind::Running; }

bool ever_started(const ContainerStatus& s) { return s.kind != StateKind::Waiting || s.last.has_value(); }

// Go's fmt %s of a []string: "[a b]".
std::string go_list(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? " " : "") + names[i];
  return out + "]";
}

json condition(const char* type, bool ok, const std::string& reason = "", const std::string& message = "") {
  json c = {{"type", type}, {"status", ok ? "True" : "False"}, {"lastProbeTime", nullptr}};
  if (!reason.empty()) c["reason"] = reason;
  if (!message.empty()) c["message"] = message;
  return c;
}

// GeneratePodInitializedCondition
json initialized_condition(const PodView& v, const std::string& phase) {
  std::vector<std::string> incomplete;
  for (size_t i = 0; i < v.init.size(); ++i) {
    // A sidecar counts once started (its later exits do not matter), a regular init container
    // once it exited 0.
    bool done = v.spec->init_containers[i].restartable ? v.init[i].started : succeeded(v.init[i]);
    if (!done) incomplete.push_back(v.spec->init_containers[i].name);
  }
  if (phase == "Succeeded") return condition("Initialized", true, "PodCompleted");
  // A regular container that started means the pod was initialized before.
  if (std::any_of(v.main.begin(), v.main.end(), ever_started)) return condition("Initialized", true);
  if (!incomplete.empty())
    return condition("Initialized", false, "ContainersNotInitialized",
                     "containers with incomplete status: " + go_list(incomplete));
  return condition("Initialized", true);
}

// GenerateContainersReadyCondition (type "ContainersReady": every sidecar and regular container ready);
// GeneratePodReadyCondition copies it.
json containers_ready_condition(const PodView& v, const std::string& phase, const char* type) {
  if (phase == "Succeeded") return condition(type, false, "PodCompleted");
  if (phase == "Failed") return condition(type, false, "PodFailed");
  std::vector<std::string> unready;  // sidecars first, then the regular containers
  for (size_t i = 0; i < v.init.size(); ++i)
    if (v.spec->init_containers[i].restartable && !running_and_ready(v.init[i]))
      unready.push_back(v.spec->init_containers[i].name);
  for (size_t i = 0; i < v.main.size(); ++i)
    if (!running_and_ready(v.main[i])) unready.push_back(v.spec->containers[i].name);
  if (!unready.empty())
    return condition(type, false, "ContainersNotReady", "containers with unready status: " + go_list(unready));
  return condition(type, true);
}

// GeneratePodReadyCondition: ContainersReady's verdict when not True, else the readiness gates'.
json ready_condition(const PodView& v, const std::string& phase) {
  json c = containers_ready_condition(v, phase, "Ready");
  if (c["status"] != "True") return c;
  std::string message;
  for (const auto& gate : v.spec->readiness_gates) {
    const json* found = nullptr;
    if (v.host_conditions)
      for (const auto& h : *v.host_conditions)
        if (h["type"] == gate) found = &h;
    std::string m;
    if (!found)
      m = "corresponding condition of pod readiness gate " + json(gate).dump() + " does not exist.";
    else if ((*found)["status"] != "True")
      m = "the status of pod readiness gate " + json(gate).dump() + " is not \"True\", but " +
          (*found)["status"].get<std::string>();
    if (!m.empty()) message += (message.empty() ? "" : ", ") + m;
  }
  if (!message.empty()) return condition("Ready", false, "ReadinessGatesNotReady", message);
  return c;
}

// message_limit: the status manager's normalizeStatus share of MaxPodTerminationMessageLogLength
// (12 KiB over the pod's containers); a longer message keeps its first bytes.
json terminated_json(const TerminatedState& t, size_t message_limit) {
  json j = {{"exitCode", t.exit_code},
            {"signal", t.signal},
            {"reason", t.reason},
            {"startedAt", rfc3339_ms(t.started_at)},
            {"finishedAt", rfc3339_ms(t.finished_at)}};
  if (!t.message.empty()) j["message"] = t.message.substr(0, message_limit);
  return j;
}

json container_json(const ContainerSpec& spec, const ContainerStatus& s, size_t message_limit) {
  // A regular init container that exited 0 is ready (convertToAPIContainerStatuses).
  bool ready = spec.init && !spec.restartable ? succeeded(s) : s.ready;
  json state;
  switch (s.kind) {
    case StateKind::Waiting: {
      json w = {{"reason", s.waiting_reason}};
      if (!s.waiting_message.empty()) w["message"] = s.waiting_message;
      state["waiting"] = w;
      break;
    }
    case StateKind::Running: state["running"] = {{"startedAt", rfc3339_ms(s.started_at)}}; break;
    case StateKind::Terminated: state["terminated"] = terminated_json(s.terminated, message_limit); break;
  }
  json last = json::object();
  if (s.last) last["terminated"] = terminated_json(*s.last, message_limit);
  return {{"name", spec.name},
          {"image", spec.image},
          {"state", state},
          {"lastState", last},
          {"ready", ready},
          {"started", s.started},
          {"restartCount", s.restart_count}};
}

std::string exit_text(const json& t) {
  char buf[48];
  int sig = t.value("signal", 0);
  if (sig != 0)
    std::snprintf(buf, sizeof buf, "Signal:%d", sig);
  else
    std::snprintf(buf, sizeof buf, "ExitCode:%d", t.value("exitCode", 0));
  return buf;
}

}  // namespace

std::string compute_phase(const PodView& v) {
  const PodSpec& spec = *v.spec;
  int pending_init = 0, failed_init = 0, running_sidecars = 0, waiting = 0;
  for (size_t i = 0; i < v.init.size(); ++i) {
    const auto& s = v.init[i];
    if (spec.init_containers[i].restartable) {
      // A sidecar never decides the phase by its exit (getPhase): running it counts as running
      // (pending until started), never started it keeps the pod Pending.
      if (s.kind == StateKind::Running) {
        ++running_sidecars;
        if (!s.started) ++pending_init;
      } else if (s.kind == StateKind::Waiting && !s.last) {
        ++pending_init;
        ++waiting;
      }
      continue;
    }
    if (s.kind == StateKind::Running || (s.kind == StateKind::Waiting && !s.last))
      ++pending_init;
    else if ((s.kind == StateKind::Terminated && s.terminated.exit_code != 0) ||
             (s.kind == StateKind::Waiting && s.last && s.last->exit_code != 0))
      ++failed_init;
  }
  int running = running_sidecars, stopped = 0, succeeded_n = 0;
  bool any_main_started = false;
  for (const auto& s : v.main) {
    switch (s.kind) {
      case StateKind::Running:
        ++running;
        any_main_started = true;
        break;
      case StateKind::Terminated:
        ++stopped;
        any_main_started = true;
        if (s.terminated.exit_code == 0) ++succeeded_n;
        break;
      case StateKind::Waiting:
        if (s.last) {
          ++stopped;
          any_main_started = true;
        } else {
          ++waiting;
        }
        break;
    }
  }
  std::string phase;
  if (v.deadline_exceeded)
    phase = "Failed";  // sticky: the kubelet's active deadline handler failed the pod
  else if (failed_init > 0 && spec.restart_policy == RestartPolicy::Never)
    phase = "Failed";
  else if ((pending_init > 0 && !any_main_started) || waiting > 0)
    phase = "Pending";
  else if (running > 0)
    phase = "Running";
  else if (stopped > 0) {
    if (v.terminal)
      phase = stopped == succeeded_n ? "Succeeded" : "Failed";
    else if (spec.restart_policy == RestartPolicy::Always)
      phase = "Running";
    else if (stopped == succeeded_n)
      phase = "Succeeded";
    else if (spec.restart_policy == RestartPolicy::Never)
      phase = "Failed";
    else
      phase = "Running";
  } else {
    phase = "Pending";
  }
  // A pod that stopped for good without its containers reaching a verdict did not succeed.
  if (v.terminal && phase != "Succeeded" && phase != "Failed") phase = "Failed";
  return phase;
}

std::string display_status(const PodSpec& spec, const json& status, bool deletion_requested) {
  std::string phase = status.value("phase", "");
  std::string reason = status.value("reason", "").empty() ? phase : status.value("reason", "");
  bool initializing = false;
  const json& inits = status["initContainerStatuses"];
  for (size_t i = 0; i < inits.size(); ++i) {
    const json& st = inits[i]["state"];
    if (i < spec.init_containers.size() && spec.init_containers[i].restartable && inits[i].value("started", false))
      continue;  // a started sidecar is done for the sequence
    if (st.contains("terminated") && st["terminated"].value("exitCode", 0) == 0) continue;
    if (st.contains("terminated")) {
      std::string r = st["terminated"].value("reason", "");
      reason = "Init:" + (r.empty() ? exit_text(st["terminated"]) : r);
    } else if (st.contains("waiting") && !st["waiting"].value("reason", "").empty() &&
               st["waiting"].value("reason", "") != "PodInitializing") {
      reason = "Init:" + st["waiting"].value("reason", "");
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(spec.init_containers.size());
    }
    initializing = true;
    break;
  }
  bool initialized_true = false;
  for (const auto& c : status["conditions"])
    if (c.value("type", "") == "Initialized" && c.value("status", "") == "True") initialized_true = true;
  if (!initializing || initialized_true) {
    bool has_running = false;
    const json& mains = status["containerStatuses"];
    for (size_t k = mains.size(); k-- > 0;) {
      const json& st = mains[k]["state"];
      if (st.contains("waiting") && !st["waiting"].value("reason", "").empty()) {
        reason = st["waiting"].value("reason", "");
      } else if (st.contains("terminated")) {
        std::string r = st["terminated"].value("reason", "");
        reason = r.empty() ? exit_text(st["terminated"]) : r;
      } else if (st.contains("running") && mains[k].value("ready", false)) {
        has_running = true;
      }
    }
    if (reason == "Completed" && has_running) {
      bool pod_ready = false;
      for (const auto& c : status["conditions"])
        if (c.value("type", "") == "Ready" && c.value("status", "") == "True") pod_ready = true;
      reason = pod_ready ? "Running" : "NotReady";
    }
  }
  if (deletion_requested && phase != "Succeeded" && phase != "Failed") reason = "Terminating";
  return reason;
}

void ConditionTimes::stamp(json& conditions, SysTime now) {
  for (auto& c : conditions) {
    std::string type = c.value("type", ""), status = c.value("status", "");
    auto it = std::find_if(last_.begin(), last_.end(), [&](const auto& e) { return e.first == type; });
    if (it == last_.end())
      it = last_.insert(last_.end(), {type, {status, now}});
    else if (it->second.first != status)
      it->second = {status, now};
    c["lastTransitionTime"] = rfc3339_ms(it->second.second);
  }
}

json build_conditions(const PodView& v, const std::string& phase) {
  // The sandbox (the pod's network and the driver's resources) exists from start until the pod
  // stopped for good.
  bool sandbox = v.start_time.has_value() && !v.terminal;
  json list = json::array({condition("PodReadyToStartContainers", sandbox), initialized_condition(v, phase),
                           ready_condition(v, phase), containers_ready_condition(v, phase, "ContainersReady"),
                           condition("PodScheduled", true)});
  if (v.host_conditions)
    for (const auto& h : *v.host_conditions) {
      json c = h;
      c["lastProbeTime"] = nullptr;
      list.push_back(std::move(c));
    }
  return list;
}

void observe_conditions(const PodView& v, SysTime now) {
  if (!v.condition_times) return;
  json conditions = build_conditions(v, compute_phase(v));
  v.condition_times->stamp(conditions, now);
}

json build_status(const PodView& v, SysTime now) {
  const PodSpec& spec = *v.spec;
  std::string phase = compute_phase(v);
  json status;
  status["phase"] = phase;
  if (v.deadline_exceeded) {
    status["reason"] = "DeadlineExceeded";
    status["message"] = kDeadlineExceededMessage;
  }
  json conditions = build_conditions(v, phase);
  if (v.condition_times)
    v.condition_times->stamp(conditions, now);
  else
    ConditionTimes().stamp(conditions, now);
  status["conditions"] = std::move(conditions);
  // The node as its pods reach it: lifehook serves one machine over loopback.
  status["hostIP"] = "127.0.0.1";
  status["hostIPs"] = json::array({{{"ip", "127.0.0.1"}}});
  status["qosClass"] = qos_class(spec);
  status["podIP"] = v.pod_ip;
  status["podIPs"] = v.pod_ip.empty() ? json::array() : json::array({{{"ip", v.pod_ip}}});
  if (v.start_time) status["startTime"] = rfc3339_ms(*v.start_time);
  if (v.deletion_time) status["deletionTimestamp"] = rfc3339_ms(*v.deletion_time);
  status["terminating"] = v.deletion_requested && !v.terminal;
  json inits = json::array(), mains = json::array();
  size_t limit = kMaxPodTerminationMessageLogLength / std::max<size_t>(1, v.init.size() + v.main.size());
  for (size_t i = 0; i < v.init.size(); ++i) inits.push_back(container_json(spec.init_containers[i], v.init[i], limit));
  for (size_t i = 0; i < v.main.size(); ++i) mains.push_back(container_json(spec.containers[i], v.main[i], limit));
  status["warnings"] = v.warnings ? findings_json(*v.warnings) : json::array();
  status["initContainerStatuses"] = inits;
  status["containerStatuses"] = mains;

  // READY and RESTARTS columns (kubectl printPod).
  std::string disp = display_status(spec, status, v.deletion_requested);
  bool initializing = disp.rfind("Init:", 0) == 0;
  // Sidecars count in READY (when started and ready) and in its total, and their restarts in
  // RESTARTS also once the pod is initialized (kubectl printPod, 1.29+).
  int ready_n = 0, total = static_cast<int>(spec.containers.size());
  int restarts = 0;
  std::optional<SysTime> last_restart;
  auto add = [&](const ContainerStatus& s) {
    restarts += s.restart_count;
    if (s.last && (!last_restart || s.last->finished_at > *last_restart)) last_restart = s.last->finished_at;
  };
  for (size_t i = 0; i < v.init.size(); ++i) {
    bool sidecar = spec.init_containers[i].restartable;
    if (sidecar) {
      ++total;
      if (v.init[i].started && v.init[i].ready) ++ready_n;
    }
    if (initializing || sidecar) add(v.init[i]);
  }
  if (!initializing)
    for (const auto& s : v.main) {
      if (s.ready && s.kind == StateKind::Running) ++ready_n;
      add(s);
    }
  std::string restarts_text = std::to_string(restarts);
  if (restarts != 0 && last_restart)
    restarts_text +=
        " (" + human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - *last_restart)) + " ago)";
  status["display"] = {{"status", disp},
                       {"ready", std::to_string(ready_n) + "/" + std::to_string(total)},
                       {"restarts", restarts_text},
                       {"restartCount", restarts}};
  return status;
}

std::string go_duration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
  std::string out;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  out += std::to_string(s);
  if (frac) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(frac));
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "s";
}

std::string human_duration(std::chrono::seconds d) {
  int64_t secs = d.count();
  if (secs < -1) return "<invalid>";
  if (secs < 0) return "0s";
  if (secs < 120) return std::to_string(secs) + "s";
  int64_t minutes = secs / 60;
  if (minutes < 10) {
    int64_t s = secs % 60;
    return std::to_string(minutes) + "m" + (s ? std::to_string(s) + "s" : "");
  }
  if (minutes < 180) return std::to_string(minutes) + "m";
  int64_t hours = minutes / 60;
  if (hours < 8) {
    int64_t m = minutes % 60;
    return std::to_string(hours) + "h" + (m ? std::to_string(m) + "m" : "");
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    int64_t h = hours % 24;
    return std::to_string(hours / 24) + "d" + (h ? std::to_string(h) + "h" : "");
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  return std::to_string(hours / 24 / 365) + "y";
}

}  // namespace lifehook::pod

namespace lifehook::pod {

json parse_host_condition(std::string_view text) {
  json j = parse_json_text(text, "condition");
  require_object(j, "condition");
  std::string type = get_string(j, "type", "condition", true);
  if (!is_qualified_name(type))
    throw_invalid("condition.type", "must be a qualified name such as example.com/feature-1",
                  json_value_text(j["type"]));
  for (const char* own : {"PodScheduled", "Initialized", "ContainersReady", "Ready", "PodReadyToStartContainers"})
    if (type == own)
      throw_invalid("condition.type", "is a condition the kubelet sets; a host sets its own (readiness gates)",
                    json_value_text(j["type"]));
  std::string status = get_string(j, "status", "condition", true);
  if (status != "True" && status != "False" && status != "Unknown")
    throw_invalid("condition.status", "must be True, False or Unknown", json_value_text(j["status"]));
  json out = {{"type", type}, {"status", status}};
  std::string reason = get_string(j, "reason", "condition");
  if (reason.size() > 1024) throw_invalid("condition.reason", "must be at most 1024 characters");
  if (!reason.empty()) out["reason"] = reason;
  std::string message = get_string(j, "message", "condition");
  if (message.size() > 32768) throw_invalid("condition.message", "must be at most 32768 bytes");
  if (!message.empty()) out["message"] = message;
  return out;
}

}  // namespace lifehook::pod
