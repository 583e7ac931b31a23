// Container states and condition lookup for the status tests (pure functions of container states).
#pragma once

#include <string>

#include "plugin/pod/status.hpp"

namespace statustest {

using lifehook::pod::ContainerStatus;
using lifehook::pod::StateKind;
using lifehook::pod::TerminatedState;
using nlohmann::json;

inline ContainerStatus waiting(const char* reason, bool with_last = false, int last_code = 1) {
  ContainerStatus s;
  s.kind = StateKind::Waiting;
  s.waiting_reason = reason;
  if (with_last) s.last = TerminatedState{last_code, 0, last_code ? "Error" : "Completed", "", {}, {}};
  return s;
}

inline ContainerStatus running(bool ready = true) {
  ContainerStatus s;
  s.kind = StateKind::Running;
  s.ready = ready;
  s.started = true;
  return s;
}

inline ContainerStatus terminated(int code, int sig = 0) {
  ContainerStatus s;
  s.kind = StateKind::Terminated;
  s.terminated = TerminatedState{code, sig, code == 0 ? "Completed" : "Error", "", {}, {}};
  return s;
}

// The condition of `type` in a status JSON (null when absent).
inline json cond(const json& status, const std::string& type) {
  for (const auto& c : status["conditions"])
    if (c["type"] == type) return c;
  return json();
}

}  // namespace statustest
