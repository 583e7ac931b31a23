// What a probe worker needs of time and of its strand, as a seam so the worker's rules
// (initial delay, period, thresholds, hold) are tested in simulated time. Its timers are the
// library's (plugin/common/clock.hpp): AsioTiming runs them on a strand of the context's loop,
// the pod engine adapts its own clock and lock (plugin/pod/probes.cpp), and the worker's tests
// use tests/probe/probe_fake_timing.hpp.
#pragma once

#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "../../handlers/handler.hpp"
#include "../common/clock.hpp"

namespace lifehook::probe {

using Clock = std::chrono::steady_clock;

// One single-shot timer (lifehook::Timer): arm() replaces a pending firing; after cancel() (or
// destruction) the function is never called. Both only on the owner's strand.
using Alarm = lifehook::Timer;

// `at` rounded up to a multiple of `step` on its clock (itself when step is zero or less).
inline Clock::time_point round_up_to(Clock::time_point at, Clock::duration step) {
  if (step.count() <= 0) return at;
  auto t = at.time_since_epoch().count(), n = step.count();
  return Clock::time_point(Clock::duration((t + n - 1) / n * n));
}

class Timing {
 public:
  virtual ~Timing() = default;
  virtual Clock::time_point now() const = 0;
  virtual std::unique_ptr<Alarm> make_alarm() = 0;
  // Runs fn on the owner's strand (results of probes arrive from other strands).
  virtual void post(std::function<void()> fn) = 0;
  // The same, at once when the caller is on that strand already.
  virtual void dispatch(std::function<void()> fn) { post(std::move(fn)); }
  // When an attempt due at `at` is started: `at` itself, or a little later so that attempts due
  // close together share one wake-up of the loop.
  virtual Clock::time_point coalesce(Clock::time_point at) const { return at; }
};

// The real thing: the library clock's timers on one strand of the context's loop.
class AsioTiming final : public Timing {
 public:
  explicit AsioTiming(Strand strand) : strand_(std::move(strand)) {}
  Clock::time_point now() const override { return real_clock().now(); }
  std::unique_ptr<Alarm> make_alarm() override { return real_clock().make_timer(strand_); }
  void post(std::function<void()> fn) override { boost::asio::post(strand_, std::move(fn)); }
  void dispatch(std::function<void()> fn) override {
    if (strand_.running_in_this_thread()) return fn();
    post(std::move(fn));
  }
  // Up to the next multiple of kCoalesceGrid on the steady clock: at a node's probe rate (1000
  // probes/s spread over each second) the attempts due in the same few milliseconds fire on one
  // timer expiry, one wake-up, instead of one each. A probe keeps its own schedule (every period
  // from its first attempt), only started up to a grid step late, the same step every period.
  Clock::time_point coalesce(Clock::time_point at) const override { return round_up_to(at, kCoalesceGrid); }
  static constexpr std::chrono::milliseconds kCoalesceGrid{2};
  const Strand& strand() const { return strand_; }

 private:
  Strand strand_;
};

}  // namespace lifehook::probe
