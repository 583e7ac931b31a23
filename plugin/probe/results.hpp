// The results manager (the kubelet's pkg/kubelet/prober/results): the last published result of
// every (container, probe type), and one listener told of every change. Workers publish here;
// the owner (a pod, a standalone probe) reads it to derive started/ready and to act on liveness.
// Not synchronised: used on the owner's strand, under the owner's lock.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "spec.hpp"

namespace lifehook::probe {

// results.Result: Unknown until a first result is published for a container instance.
enum class Verdict { Unknown, Success, Failure };
std::string_view verdict_name(Verdict v);  // "unknown", "success", "failure"

// One probe attempt, as the prober maps a handler result (pkg/kubelet/prober/prober.go).
struct Attempt {
  Verdict verdict = Verdict::Unknown;
  bool warning = false;  // probe.Warning: counts as Success, the event is ProbeWarning
  bool errored = false;  // the handler could not run (prober error): Failure, "errored" event
  std::string output;    // the text of the Unhealthy/ProbeWarning event
  Result result;         // what the handler reported
};

class Results {
 public:
  using Listener = std::function<void(const std::string& container, ProbeType type, Verdict v, const Attempt* last)>;
  void set_listener(Listener l) { listener_ = std::move(l); }
  std::optional<Verdict> get(const std::string& container, ProbeType type) const;
  // Stores the result; the listener hears of it only when it changed (as results.Manager.Set).
  // `last` is the attempt that decided it (null for the initial value or a container that stopped).
  void set(const std::string& container, ProbeType type, Verdict v, const Attempt* last = nullptr);
  void remove(const std::string& container, ProbeType type);

 private:
  std::map<std::pair<std::string, ProbeType>, Verdict> cache_;
  Listener listener_;
};

}  // namespace lifehook::probe
