#include "sequencer.hpp"

namespace lifehook::pod {

SequencerSlot slot_of(const Container& c) {
  SequencerSlot s;
  s.role = c.role;
  s.ever_started = c.instance.ever_started;
  s.alive = c.instance.alive;
  s.starting = c.instance.starting;
  s.started = c.role == Role::Sidecar && c.instance.alive && !c.instance.starting && c.st.started;
  s.succeeded = c.restart.succeeded;
  s.restart_at = c.restart.restart_at;
  return s;
}

SequencerDecision next_start(const SequencerInput& in, std::chrono::steady_clock::time_point now) {
  SequencerDecision d;
  if (!in.started || in.terminating || in.terminal) return d;
  auto due = [&](const SequencerSlot& s) { return !s.ever_started || (s.restart_at && *s.restart_at <= now); };
  size_t i = 0;
  for (; i < in.containers.size() && in.containers[i].role != Role::Main; ++i) {
    const SequencerSlot& s = in.containers[i];
    if (in.initialized) {
      // Initialized once: init containers are done for good; sidecars restart on their own.
      if (s.role == Role::Sidecar && !in.busy && !s.alive && !s.starting && due(s)) {
        d.start = i;
        return d;
      }
      continue;
    }
    if (s.succeeded || s.started) continue;  // started: sidecars only
    // The first init container not done yet holds the sequence: wait for it, or (re)start it.
    if (!in.busy && !s.alive && !s.starting && due(s)) d.start = i;
    return d;
  }
  d.initialized = true;
  if (in.busy) return d;
  for (; i < in.containers.size(); ++i) {
    const SequencerSlot& s = in.containers[i];
    if (s.alive || s.starting) continue;
    if (due(s)) {
      d.start = i;
      return d;
    }
  }
  return d;
}

}  // namespace lifehook::pod
