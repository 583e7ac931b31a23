// What a probe worker needs of time and of its strand, as a seam so the worker's rules
// (initial delay, period, thresholds, hold) are tested in simulated time. The pod engine's
// injectable clock (plugin/common/clock.hpp) is meant to back this once it exists; until then
// AsioTiming is the real implementation and tests/unit/probe_fake_timing.hpp the fake one.
#pragma once

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "../../handlers/handler.hpp"

namespace lifehook::probe {

using Clock = std::chrono::steady_clock;

// One single-shot timer. arm() replaces a pending firing; after cancel() (or destruction) the
// function is never called. Both only on the owner's strand.
class Alarm {
 public:
  virtual ~Alarm() = default;
  virtual void arm(Clock::time_point at, std::function<void()> fn) = 0;
  virtual void cancel() = 0;
};

class Timing {
 public:
  virtual ~Timing() = default;
  virtual Clock::time_point now() const = 0;
  virtual std::unique_ptr<Alarm> make_alarm() = 0;
  // Runs fn on the owner's strand (results of probes arrive from other strands).
  virtual void post(std::function<void()> fn) = 0;
};

// The real thing: steady_timers on one strand of the context's loop.
class AsioTiming final : public Timing {
 public:
  explicit AsioTiming(Strand strand) : strand_(std::move(strand)) {}
  Clock::time_point now() const override { return Clock::now(); }
  std::unique_ptr<Alarm> make_alarm() override { return std::make_unique<TimerAlarm>(strand_); }
  void post(std::function<void()> fn) override { boost::asio::post(strand_, std::move(fn)); }
  const Strand& strand() const { return strand_; }

 private:
  class TimerAlarm final : public Alarm {
   public:
    explicit TimerAlarm(Strand& s) : timer_(s), gen_(std::make_shared<uint64_t>(0)) {}
    ~TimerAlarm() override { ++*gen_; }
    void arm(Clock::time_point at, std::function<void()> fn) override {
      uint64_t g = ++*gen_;
      timer_.expires_at(at);
      // A firing already queued when the alarm was re-armed, canceled or destroyed is recognised
      // by its generation and dropped: a canceled alarm never runs.
      timer_.async_wait([gen = gen_, g, fn = std::move(fn)](const boost::system::error_code& ec) {
        if (!ec && g == *gen) fn();
      });
    }
    void cancel() override {
      ++*gen_;
      timer_.cancel();
    }

   private:
    boost::asio::steady_timer timer_;
    std::shared_ptr<uint64_t> gen_;
  };
  Strand strand_;
};

}  // namespace lifehook::probe
