// An injectable clock and timer factory, so engine logic (deadlines, backoff, probe periods) runs
// on the real steady clock in the library and on simulated time in tests — client-go's
// k8s.io/utils/clock (Clock / FakeClock), reduced to what lifehook uses.
//
// RealClock: std::chrono::steady_clock, timers are Asio steady_timers whose callbacks run on the
// strand they were made for. FakeClock: time stands still until advance()/set(); callbacks of the
// timers that fall due run in time order from inside that call, on the calling thread.
//
// Timer rule (both clocks): arm() replaces any earlier arming; after cancel(), a re-arm or the
// timer's destruction, the earlier callback does not run — provided those calls are made where the
// callbacks run (the strand; for FakeClock, the thread calling advance()), as the engine does.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace lifehook {

class Timer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Timer() = default;
  // Runs fn once when the clock reaches `at` (at once if it already has).
  virtual void arm(TimePoint at, std::function<void()> fn) = 0;
  virtual void cancel() = 0;
};

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Executor = boost::asio::strand<boost::asio::io_context::executor_type>;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // Wall-clock time for timestamps shown to users (startedAt, event times).
  virtual std::chrono::system_clock::time_point wall_now() const = 0;
  // A timer whose callbacks run on `strand` (RealClock); FakeClock runs them from advance().
  virtual std::unique_ptr<Timer> make_timer(Executor strand) = 0;
};

// t + d without overflow: saturates at the clock's end (durations come from int64 milliseconds).
inline Clock::TimePoint saturating_add(Clock::TimePoint t, std::chrono::milliseconds d) {
  if (d.count() <= 0) return t + d;
  auto room = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::TimePoint::max() - t);
  return d >= room ? Clock::TimePoint::max() : t + d;
}

class RealClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall_now() const override { return std::chrono::system_clock::now(); }
  std::unique_ptr<Timer> make_timer(Executor strand) override { return std::make_unique<AsioTimer>(strand); }

 private:
  class AsioTimer final : public Timer {
   public:
    explicit AsioTimer(Executor strand) : timer_(strand), gen_(std::make_shared<uint64_t>(0)) {}
    void arm(TimePoint at, std::function<void()> fn) override {
      uint64_t gen = ++*gen_;
      timer_.expires_at(at);
      // A firing already queued on the strand when the timer was canceled, re-armed or destroyed
      // still runs its handler (expiry queued it; destruction no longer cancels it): it holds the
      // generation counter, not the timer, and drops itself on a mismatch.
      timer_.async_wait([g = gen_, gen, fn = std::move(fn)](const boost::system::error_code& ec) {
        if (!ec && gen == *g) fn();
      });
    }
    void cancel() override {
      ++*gen_;
      timer_.cancel();
    }
    ~AsioTimer() override { ++*gen_; }

   private:
    boost::asio::steady_timer timer_;
    std::shared_ptr<uint64_t> gen_;
  };
};

// The library's clock (one per process; stateless).
inline Clock& real_clock() {
  static RealClock clock;
  return clock;
}

// Simulated time for tests. Starts at an arbitrary fixed point; moves only when told.
class FakeClock final : public Clock {
 public:
  FakeClock() : now_(TimePoint{} + std::chrono::hours(1000)), wall_base_(std::chrono::system_clock::now()) {}

  TimePoint now() const override {
    std::lock_guard lock(state_->mu);
    return now_;
  }
  std::chrono::system_clock::time_point wall_now() const override {
    std::lock_guard lock(state_->mu);
    return wall_base_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(now_ - start_);
  }
  std::unique_ptr<Timer> make_timer(Executor) override { return std::make_unique<FakeTimer>(state_); }

  // Moves time forward by d, running every callback that falls due on the way, in order of due
  // time (then arming order), each with now() at its due time. Callbacks may arm timers again.
  void advance(std::chrono::milliseconds d) { run_until(now() + d); }
  void set(TimePoint t) { run_until(t); }
  // Runs the callbacks due now (armed for the present or the past) without moving time.
  void run_due() { run_until(now()); }
  // How many timers are armed, and when the next one fires (TimePoint::max() when none).
  size_t pending() const {
    std::lock_guard lock(state_->mu);
    return state_->due.size();
  }
  TimePoint next_due() const {
    std::lock_guard lock(state_->mu);
    return state_->due.empty() ? TimePoint::max() : state_->due.begin()->first.first;
  }
  // Advances to each next due time until no timer is armed or `limit` is reached.
  void run_all(TimePoint limit) {
    for (TimePoint t; (t = next_due()) <= limit;) set(t);
  }

 private:
  using Key = std::pair<TimePoint, uint64_t>;  // due time, arming sequence
  struct State {
    std::mutex mu;
    uint64_t seq = 0;
    std::map<Key, std::function<void()>> due;
  };

  class FakeTimer final : public Timer {
   public:
    explicit FakeTimer(std::shared_ptr<State> s) : s_(std::move(s)) {}
    ~FakeTimer() override { cancel(); }
    void arm(TimePoint at, std::function<void()> fn) override {
      std::lock_guard lock(s_->mu);
      if (armed_) s_->due.erase(key_);
      key_ = {at, ++s_->seq};
      armed_ = true;
      s_->due.emplace(key_, [this, fn = std::move(fn)] {
        armed_ = false;
        fn();
      });
    }
    void cancel() override {
      std::lock_guard lock(s_->mu);
      if (armed_) s_->due.erase(key_);
      armed_ = false;
    }

   private:
    std::shared_ptr<State> s_;
    Key key_{};
    bool armed_ = false;
  };

  void run_until(TimePoint t) {
    for (;;) {
      std::function<void()> fn;
      {
        std::lock_guard lock(state_->mu);
        auto it = state_->due.begin();
        if (it == state_->due.end() || it->first.first > t) break;
        if (it->first.first > now_) now_ = it->first.first;
        fn = std::move(it->second);
        state_->due.erase(it);
      }
      fn();
    }
    std::lock_guard lock(state_->mu);
    if (t > now_) now_ = t;
  }

  std::shared_ptr<State> state_ = std::make_shared<State>();
  TimePoint now_;
  const TimePoint start_ = now_;
  std::chrono::system_clock::time_point wall_base_;
};

}  // namespace lifehook
