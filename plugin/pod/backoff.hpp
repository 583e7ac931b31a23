// Crash-loop backoff per container, the kubelet's flowcontrol.Backoff without jitter:
// the first restart is immediate, then initial, 2x, 4x ... capped at max, measured from the
// container's exit; the entry expires (fresh start) when the exit is more than `reset` after the
// last allowed start, i.e. the container ran that long without trouble.
#pragma once

#include <chrono>
#include <optional>

namespace lifehook::pod {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

struct BackoffOptions {
  Millis initial{10000};
  Millis max{300000};
  Millis reset{600000};
};

class Backoff {
 public:
  explicit Backoff(BackoffOptions o = {}) : o_(o) {
    if (o_.max < o_.initial) o_.initial = o_.max;
  }
  // How long after `now` a restart of a container that exited at `finished` must wait
  // (zero: start now). Does not change the state.
  Millis delay(Clock::time_point finished, Clock::time_point now) const {
    if (!last_update_ || expired(finished)) return Millis{0};
    auto until = finished + current_;
    return until > now ? std::chrono::ceil<Millis>(until - now) : Millis{0};
  }
  // Records that a restart of a container that exited at `finished` is happening at `now`
  // (the kubelet's Next()): the next crash waits twice as long.
  void next(Clock::time_point finished, Clock::time_point now) {
    if (!last_update_ || expired(finished))
      current_ = o_.initial;
    else
      current_ = std::min(current_ * 2, o_.max);
    last_update_ = now;
  }
  // The period a crash after the last restart waits (for messages), zero before any restart.
  Millis current() const { return last_update_ ? current_ : Millis{0}; }

 private:
  bool expired(Clock::time_point finished) const { return finished - *last_update_ > o_.reset; }

  BackoffOptions o_;
  std::optional<Clock::time_point> last_update_;
  Millis current_{0};
};

}  // namespace lifehook::pod
