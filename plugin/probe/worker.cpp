#include "worker.hpp"

namespace lifehook::probe {

std::shared_ptr<Worker> Worker::create(std::weak_ptr<void> owner, std::string container, ProbeSpec spec,
                                       Request request, Timing& timing, Prober& prober, Results& results, View view,
                                       OnAttempt on_attempt) {
  return std::shared_ptr<Worker>(new Worker(std::move(owner), std::move(container), std::move(spec), std::move(request),
                                            timing, prober, results, std::move(view), std::move(on_attempt)));
}

Worker::Worker(std::weak_ptr<void> owner, std::string container, ProbeSpec spec, Request request, Timing& timing,
               Prober& prober, Results& results, View view, OnAttempt on_attempt)
    : owner_(std::move(owner)),
      container_(std::move(container)),
      spec_(std::move(spec)),
      request_(std::move(request)),
      timing_(timing),
      prober_(prober),
      results_(results),
      view_(std::move(view)),
      on_attempt_(std::move(on_attempt)),
      alarm_(timing.make_alarm()) {}

Worker::~Worker() { alarm_->cancel(); }

Verdict Worker::initial_value() const {
  switch (spec_.type) {
    case ProbeType::Liveness: return Verdict::Success;
    case ProbeType::Startup: return Verdict::Unknown;
    case ProbeType::Readiness: break;
  }
  return Verdict::Failure;
}

void Worker::start() {
  if (started_ || stopped_) return;
  started_ = true;
  next_tick_ = timing_.now();
  on_tick();
}

void Worker::kick() {
  if (!started_ || stopped_) return;
  alarm_->cancel();
  next_tick_ = timing_.now();
  on_tick();
}

void Worker::stop() {
  if (stopped_) return;
  stopped_ = true;
  alarm_->cancel();
  if (in_flight_) {
    in_flight_ = false;
    ++flight_seq_;  // its completion is ignored
    prober_.cancel(flight_op_);
  }
}

void Worker::arm(Clock::time_point at) {
  std::weak_ptr<Worker> weak = weak_from_this();
  alarm_->arm(timing_.coalesce(at), [weak] {
    if (auto self = weak.lock()) self->on_tick();
  });
}

void Worker::on_tick() {
  if (stopped_) return;
  // The next grid point after now: ticks missed while a probe ran long are dropped, not queued.
  auto now = timing_.now();
  auto period = std::chrono::milliseconds(spec_.period_ms);
  while (next_tick_ <= now) next_tick_ += period;
  arm(next_tick_);
  if (in_flight_) {
    tick_pending_ = true;
    return;
  }
  if (!do_probe()) stop();
}

bool Worker::do_probe() {
  ContainerView c = view_();
  if (c.terminal) return false;
  if (c.instance == 0) return true;
  if (c.instance != instance_) {
    instance_ = c.instance;
    results_.set(container_, spec_.type, initial_value());
    on_hold_ = false;
    // Counting restarts with the instance (the kubelet keeps resultRun across a new container
    // ID, which lets a dead instance's failures count against its successor).
    result_run_ = 0;
    last_result_ = Verdict::Unknown;
  }
  if (on_hold_) return true;
  if (!c.running) {
    results_.set(container_, spec_.type, Verdict::Failure);
    return c.will_restart;
  }
  if (c.terminating && spec_.type != ProbeType::Readiness) {
    results_.set(container_, spec_.type, Verdict::Success);
    return false;
  }
  auto age_s = std::chrono::duration_cast<std::chrono::seconds>(timing_.now() - c.started_at).count();
  if (age_s * 1000 < spec_.initial_delay_ms) return true;
  if (c.started) {
    if (spec_.type == ProbeType::Startup) return true;  // started: the startup worker idles
  } else if (spec_.type != ProbeType::Startup) {
    return true;  // liveness and readiness wait for the startup probe
  }
  tries_ = 0;
  launch();
  return true;
}

void Worker::launch() {
  in_flight_ = true;
  uint64_t seq = ++flight_seq_;
  ++tries_;
  // The completion comes from the handler's strand; the worker's state lives on the owner's.
  // Holding the owner keeps the Timing (and the worker's other references) alive for the hand-over.
  // A prober on the owner's strand may complete the attempt before run() returns (dispatch runs
  // on_done at once): the id is kept only while this attempt is still the one in flight.
  uint64_t id = prober_.run(request_, [owner = owner_, weak = weak_from_this(), seq](Attempt a) {
    auto keep = owner.lock();
    auto self = weak.lock();
    if (!keep || !self) return;
    self->timing_.dispatch([keep, weak, seq, a = std::move(a)]() mutable {
      if (auto w = weak.lock()) w->on_done(seq, std::move(a));
    });
  });
  if (in_flight_ && seq == flight_seq_) flight_op_ = id;
}

void Worker::on_done(uint64_t seq, Attempt got) {
  if (stopped_ || !in_flight_ || seq != flight_seq_) return;
  in_flight_ = false;
  flight_op_ = 0;
  if (got.verdict == Verdict::Unknown && !got.errored) return;  // canceled: nothing to count
  ++attempts_;
  last_attempt_ = std::move(got);
  has_attempt_ = true;
  // Only a new attempt (launch, below) replaces it, and nothing reads `a` after that.
  const Attempt& a = last_attempt_;
  if (on_attempt_) on_attempt_(*this, a);
  if (stopped_) return;  // the owner stopped us from its callback
  if (a.errored) {
    // runProbeWithRetries: a prober error is tried again at once, up to maxProbeRetries in all,
    // and then the result is thrown away (worker.go: "Prober error, throw away the result").
    if (tries_ < kMaxTries) return launch();
  } else {
    if (a.verdict == last_result_) {
      ++result_run_;
    } else {
      last_result_ = a.verdict;
      result_run_ = 1;
    }
    bool publish = (a.verdict == Verdict::Failure && result_run_ >= spec_.failure_threshold) ||
                   (a.verdict == Verdict::Success && result_run_ >= spec_.success_threshold);
    if (publish) {
      results_.set(container_, spec_.type, a.verdict, &last_attempt_);
      if (stopped_) return;
      if ((spec_.type == ProbeType::Liveness && a.verdict == Verdict::Failure) || spec_.type == ProbeType::Startup) {
        // The kubelet acts on it (restart, or liveness and readiness begin); nothing more to
        // learn from this instance.
        on_hold_ = true;
        result_run_ = 0;
      }
    }
  }
  if (tick_pending_) {
    tick_pending_ = false;
    if (!do_probe()) stop();
  }
}

}  // namespace lifehook::probe
