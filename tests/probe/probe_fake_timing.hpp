// Simulated time for probe workers: a clock that moves only when the test says so, alarms that
// fire in time order as it moves, posted work run at once (one thread: the test's), and a prober
// whose attempts the test answers.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "plugin/probe/prober.hpp"
#include "plugin/probe/timing.hpp"

namespace lifehook::probe::testing {

class FakeTiming final : public Timing {
 public:
  Clock::time_point now() const override { return now_; }
  std::unique_ptr<Alarm> make_alarm() override { return std::make_unique<FakeAlarm>(*this); }
  void post(std::function<void()> fn) override { fn(); }
  // Attempts start on this grid, as AsioTiming's do on its own (zero: exactly when due).
  Clock::time_point coalesce(Clock::time_point at) const override { return round_up_to(at, grid); }
  std::chrono::milliseconds grid{0};

  // Moves the clock forward by d, firing every alarm that falls due, in time order, each at its
  // own time.
  void advance(std::chrono::milliseconds d) {
    auto until = now_ + d;
    for (;;) {
      FakeAlarm* next = nullptr;
      for (auto* a : alarms_)
        if (a->armed && a->at <= until && (!next || a->at < next->at)) next = a;
      if (!next) break;
      now_ = next->at;
      next->armed = false;
      auto fn = std::move(next->fn);
      fn();
    }
    now_ = until;
  }

 private:
  struct FakeAlarm final : Alarm {
    explicit FakeAlarm(FakeTiming& t) : t(t) { t.alarms_.push_back(this); }
    ~FakeAlarm() override { std::erase(t.alarms_, this); }
    void arm(Clock::time_point a, std::function<void()> f) override {
      at = a;
      fn = std::move(f);
      armed = true;
    }
    void cancel() override { armed = false; }
    FakeTiming& t;
    Clock::time_point at{};
    std::function<void()> fn;
    bool armed = false;
  };
  Clock::time_point now_{std::chrono::hours(1000)};
  std::vector<FakeAlarm*> alarms_;
};

// Attempts stay in flight until the test answers them (answer / answer_all), or are answered at
// once by `autorespond` when set.
class FakeProber final : public Prober {
 public:
  struct Pending {
    uint64_t id;
    Clock::time_point at;
    std::function<void(Attempt)> done;
  };
  explicit FakeProber(const Timing& t) : timing_(t) {}
  uint64_t run(const Request&, std::function<void(Attempt)> done) override {
    uint64_t id = ++next_;
    starts.push_back(timing_.now());
    if (autorespond) {
      done(autorespond());
      return id;
    }
    pending.push_back({id, timing_.now(), std::move(done)});
    return id;
  }
  void cancel(uint64_t id) override {
    canceled.push_back(id);
    for (auto it = pending.begin(); it != pending.end(); ++it)
      if (it->id == id) {
        auto done = std::move(it->done);
        pending.erase(it);
        Attempt a;
        a.verdict = Verdict::Unknown;  // canceled
        done(a);
        return;
      }
  }
  void answer(Attempt a) {
    auto p = std::move(pending.front());
    pending.pop_front();
    p.done(std::move(a));
  }

  std::function<Attempt()> autorespond;
  std::deque<Pending> pending;
  std::vector<Clock::time_point> starts;
  std::vector<uint64_t> canceled;

 private:
  const Timing& timing_;
  uint64_t next_ = 0;
};

inline Attempt success(std::string out = "") {
  Attempt a;
  a.verdict = Verdict::Success;
  a.output = std::move(out);
  a.result.outcome = Outcome::Success;
  return a;
}
inline Attempt failure(std::string out = "failed") {
  Attempt a;
  a.verdict = Verdict::Failure;
  a.output = std::move(out);
  a.result.outcome = Outcome::Failure;
  return a;
}
inline Attempt errored(std::string out = "cannot run") {
  Attempt a;
  a.verdict = Verdict::Failure;
  a.errored = true;
  a.output = std::move(out);
  a.result.outcome = Outcome::Error;
  return a;
}

}  // namespace lifehook::probe::testing
