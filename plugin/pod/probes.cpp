#include "probes.hpp"

namespace lifehook::pod {

using probe::ProbeType;
using probe::Verdict;

// The worker's time and strand are the pod's: its clock (real or simulated), timers that fire on
// the pod's strand under the pod's lock, and completions posted there. Each callback runs with the
// batch of driver calls of the work it runs in, so a liveness failure can start a stop sequence.
class PodProbes::EngineTiming final : public probe::Timing {
 public:
  explicit EngineTiming(PodProbes& owner) : owner_(owner) {}
  probe::Clock::time_point now() const override { return owner_.env_.clock.now(); }

  std::unique_ptr<probe::Alarm> make_alarm() override {
    return std::make_unique<Alarm>(owner_.env_.clock.make_timer(owner_.env_.strand), owner_.weak_from_this(),
                                   owner_.env_.run_locked);
  }

  void post(std::function<void()> fn) override {
    owner_.env_.post([weak = owner_.weak_from_this(), fn = std::move(fn)](Deferred& d) {
      if (auto self = weak.lock()) self->with_batch(d, fn);
    });
  }

 private:
  class Alarm final : public probe::Alarm {
   public:
    using RunLocked = std::function<void(const std::function<void(Deferred&)>&)>;
    Alarm(std::unique_ptr<lifehook::Timer> timer, std::weak_ptr<PodProbes> owner, RunLocked run)
        : timer_(std::move(timer)), owner_(std::move(owner)), run_(std::move(run)) {}
    void arm(TimePoint at, std::function<void()> fn) override {
      timer_->arm(at, [owner = owner_, run = run_, fn = std::move(fn)] {
        run([&owner, &fn](Deferred& d) {
          if (auto self = owner.lock()) self->with_batch(d, fn);
        });
      });
    }
    void cancel() override { timer_->cancel(); }

   private:
    std::unique_ptr<lifehook::Timer> timer_;
    std::weak_ptr<PodProbes> owner_;
    RunLocked run_;
  };

  PodProbes& owner_;
};

std::shared_ptr<PodProbes> PodProbes::create(ProbeEnv env, ProbeActions& actions) {
  std::shared_ptr<PodProbes> self(new PodProbes(std::move(env), actions));
  self->results_.set_listener(
      [raw = self.get()](const std::string& name, ProbeType type, Verdict v, const probe::Attempt* last) {
        // Workers publish only from inside with_batch (their timers, their completions, our calls).
        if (raw->batch_ && !raw->stopped_) raw->actions_.probe_result(name, type, v, last, *raw->batch_);
      });
  return self;
}

PodProbes::PodProbes(ProbeEnv env, ProbeActions& actions)
    : env_(std::move(env)), actions_(actions), timing_(std::make_unique<EngineTiming>(*this)) {}

PodProbes::~PodProbes() { stop_all(); }

const std::optional<probe::ProbeSpec>& PodProbes::spec_of(const ContainerSpec& c, ProbeType t) {
  switch (t) {
    case ProbeType::Liveness: return c.liveness_probe;
    case ProbeType::Readiness: return c.readiness_probe;
    case ProbeType::Startup: break;
  }
  return c.startup_probe;
}

void PodProbes::with_batch(Deferred& d, const std::function<void()>& fn) {
  Deferred* outer = batch_;
  batch_ = &d;
  fn();
  batch_ = outer;
}

void PodProbes::instance_running(const Container& c, Deferred& d) {
  if (stopped_) return;
  instance_stopped(c.name());
  auto& list = workers_[c.name()];
  for (ProbeType type : {ProbeType::Startup, ProbeType::Liveness, ProbeType::Readiness}) {
    const auto& spec = spec_of(*c.spec, type);
    if (!spec) continue;
    std::string name = c.name();
    list.push_back(probe::Worker::create(
        weak_from_this(), name, *spec, probe::probe_request(*spec, c.instance.target), *timing_, env_.prober, results_,
        [this, name] { return actions_.probe_view(name); },
        [this](const probe::Worker& w, const probe::Attempt& a) { on_attempt(w, a); }));
  }
  // Copied: a worker's first probe may publish, and the engine may then stop this container's workers.
  auto started = list;
  with_batch(d, [&] {
    for (auto& w : started) w->start();
  });
}

void PodProbes::instance_stopped(const std::string& container) {
  auto it = workers_.find(container);
  if (it == workers_.end()) return;
  auto list = std::move(it->second);
  workers_.erase(it);
  for (auto& w : list) {
    w->stop();
    results_.remove(container, w->type());
    failed_attempts_.erase({container, w->type()});
  }
}

void PodProbes::started(const std::string& container, Deferred& d) {
  auto it = workers_.find(container);
  if (it == workers_.end()) return;
  auto list = it->second;
  with_batch(d, [&] {
    for (auto& w : list)
      if (w->type() != ProbeType::Startup) w->kick();
  });
}

void PodProbes::stop_all() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [name, list] : workers_)
    for (auto& w : list) w->stop();
  workers_.clear();
}

namespace {

// An exec probe's output usually ends in a newline; the event message does not (kubectl describe
// trims it too).
std::string event_text(const std::string& output) {
  size_t end = output.find_last_not_of(" \t\r\n");
  return end == std::string::npos ? std::string() : output.substr(0, end + 1);
}

}  // namespace

void PodProbes::on_attempt(const probe::Worker& w, const probe::Attempt& a) {
  if (stopped_) return;
  std::string title(probe::probe_type_title(w.type()));
  std::string output = event_text(a.output);
  int& failed = failed_attempts_[{w.container(), w.type()}];
  if (a.errored) {
    // runProbeWithRetries: a prober error is tried again; the event comes once, after the last try.
    if (w.tries() < probe::Worker::kMaxTries) return;
    ++failed;
    actions_.probe_event(EventReason::Unhealthy, title + " probe errored and resulted in unknown state: " + output,
                         w.container());
    return;
  }
  if (a.verdict == Verdict::Failure) {
    ++failed;
    actions_.probe_event(EventReason::Unhealthy, title + " probe failed: " + output, w.container());
    return;
  }
  if (a.verdict != Verdict::Success) return;
  if (a.warning) actions_.probe_event(EventReason::ProbeWarning, title + " probe warning: " + output, w.container());
  if (failed > 0) {
    actions_.probe_event(
        EventReason::ProbeRecovered,
        title + " probe succeeded after " + std::to_string(failed) + " failed attempt" + (failed == 1 ? "" : "s"),
        w.container());
    failed = 0;
  }
}

}  // namespace lifehook::pod
