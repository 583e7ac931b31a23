// postStart and preStop: running them as library operations against the container's target,
// cancelling them (a canceled hook's processes are killed, and the pod counts it in flight until
// its completion arrives: terminate must not return before they are gone), and the messages the
// kubelet reports for a failed hook (lifecycle/handlers.go).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../../handlers/model.hpp"
#include "container.hpp"

namespace lifehook {
class Context;
}

namespace lifehook::pod {

// Where hook operations run: the context (ContextHookExecutor) or, in tests, a fake.
class HookExecutor {
 public:
  using Done = std::function<void(uint64_t op, const Result& r)>;
  virtual ~HookExecutor() = default;
  // Submits; done is called once, from any thread, also for a canceled operation. Throws on a
  // request the handler layer refuses.
  virtual uint64_t submit(const Request& req, Done done) = 0;
  virtual void cancel(uint64_t op) = 0;
};

class ContextHookExecutor final : public HookExecutor {
 public:
  explicit ContextHookExecutor(Context& ctx) : ctx_(ctx) {}
  uint64_t submit(const Request& req, Done done) override;
  void cancel(uint64_t op) override;

 private:
  Context& ctx_;
};

class Hooks {
 public:
  // Completion of a hook of a container instance: (op, result) on the caller's executor thread.
  using Done = HookExecutor::Done;
  explicit Hooks(HookExecutor& ex) : ex_(ex) {}

  // Runs c's postStart or preStop (no timeout of its own: postStart has none in the kubelet, a
  // preStop is ended by the stop deadline). done is always called exactly once, with op 0 and an
  // Error result when the request could not be submitted.
  void run(Container& c, HookKind kind, const HandlerSpec& h, Done done);
  // Cancels c's running hook (its completion still comes, and is ignored as stale).
  void cancel(Container& c);
  // A completion arrived: one hook fewer in flight. True when it is c's current hook (not stale).
  bool completed(Container& c, HookKind kind, uint64_t op);
  int in_flight() const { return in_flight_; }

 private:
  HookExecutor& ex_;
  int in_flight_ = 0;
};

// The kubelet's message for a failed hook (pkg/kubelet/lifecycle/handlers.go), e.g. `Exec
// lifecycle hook ([sh -c exit 7]) for Container "app" in Pod "web_default(uid)" failed - error:
// ..., message: "..."`, or 'HTTP lifecycle hook (/bar) for ...' with the path as the manifest
// wrote it. hook: "postStart" or "preStop" (where in c.raw the httpGet's path is).
std::string hook_failure_message(const ContainerSpec& c, const char* hook, const HandlerSpec& h, const Result& r,
                                 const std::string& pod);

// The kubelet's LifecycleHTTPFallback messages for what a hook's handler reported ("request to
// HTTPS lifecycle hook HOST:PORT got HTTP response, retry with HTTP succeeded",
// pkg/kubelet/lifecycle/handlers.go): one per fallback the httpGet handler warned about.
std::vector<std::string> http_fallback_messages(const Result& r);

}  // namespace lifehook::pod
