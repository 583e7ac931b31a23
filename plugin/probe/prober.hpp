// The prober (pkg/kubelet/prober/prober.go): runs one probe attempt through the library's
// handler machinery (the parsed Request goes straight to Context::submit: no JSON, no host call)
// and maps the handler's Result to the kubelet's probe result:
//   success -> Success (an unfollowed 3xx redirect: Success with a ProbeWarning, "Probe terminated
//   redirects, Response body: ..."); failure and timeout -> Failure (an exec timeout is a Failure,
//   as with ExecProbeTimeout); error -> a prober error (the "errored" event; the attempt is
//   retried and then thrown away, maxProbeRetries = 3); canceled -> discarded.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "../../handlers/handler.hpp"
#include "results.hpp"

namespace lifehook {
class Context;
}

namespace lifehook::probe {

class Prober {
 public:
  virtual ~Prober() = default;
  // Starts one attempt; `done` runs exactly once, from any thread, with the mapped attempt.
  // Returns an id for cancel (0: it could not start, and done has already run).
  virtual uint64_t run(const Request& req, std::function<void(Attempt)> done) = 0;
  // Cancels an attempt in flight (its process tree is killed); done still runs, canceled.
  virtual void cancel(uint64_t id) = 0;
};

// The kubelet's mapping of a handler result to a probe attempt (`exec`: the handler was exec).
Attempt to_attempt(bool exec, Result r);

class ContextProber final : public Prober {
 public:
  explicit ContextProber(Context& ctx) : ctx_(ctx) {}
  // Attempts run on `strand` (the worker's): started without a post, finished without a hop back.
  ContextProber(Context& ctx, Strand strand) : ctx_(ctx), strand_(std::move(strand)) {}
  uint64_t run(const Request& req, std::function<void(Attempt)> done) override;
  void cancel(uint64_t id) override;

 private:
  Context& ctx_;
  std::optional<Strand> strand_;
};

}  // namespace lifehook::probe
