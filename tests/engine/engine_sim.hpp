// The pod engine's simulated-time harness: the lifecycle state machine driven by a fake clock, an
// in-memory driver, a fake hook executor and a scripted prober, all on the test's thread, as the
// pod's strand would run them (work queued by the engine runs when the test drains the queue).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <map>
#include <set>

#include "plugin/common/clock.hpp"
#include "plugin/pod/lifecycle.hpp"
#include "plugin/pod/restart.hpp"
#include "plugin/pod/sequencer.hpp"
#include "plugin/pod/stop_sequence.hpp"
#include "plugin/probe/prober.hpp"

namespace lifehook::pod::sim {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

// A driver call, as the fake driver saw it: "start app#1", "signal app#1 15", "kill app#1", "remove app#1".
struct Call {
  std::string text;
  lifehook::Clock::TimePoint at;
};

class FakeDriver final : public drivers::Driver {
 public:
  explicit FakeDriver(lifehook::Clock& clock) : clock_(clock) {}
  const char* name() const override { return "fake"; }
  void validate(const PodSpec&) const override {}
  bool reports_exits() const override { return true; }
  void start(const ContainerSpec& c, drivers::InstanceId instance, drivers::StartDone done) override {
    record("start " + c.name + "#" + std::to_string(instance));
    if (fail_starts) return done(std::nullopt, "no such image");
    done(drivers::StartInfo{}, {});
  }
  void signal(const std::string& c, drivers::InstanceId instance, int signo) override {
    record("signal " + c + "#" + std::to_string(instance) + " " + std::to_string(signo));
  }
  void kill(const std::string& c, drivers::InstanceId instance) override {
    record("kill " + c + "#" + std::to_string(instance));
  }
  void remove(const std::string& c, drivers::InstanceId instance) override {
    record("remove " + c + "#" + std::to_string(instance));
  }

  // What an exited container left: its termination message file and its output, by name.
  MessageFile termination_message_file(const ContainerSpec& c, drivers::InstanceId, size_t) override {
    ++message_reads;
    auto it = files.find(c.name);
    return it == files.end() ? MessageFile{} : it->second;
  }
  std::optional<std::string> log_tail(const ContainerSpec& c, drivers::InstanceId, size_t max) override {
    ++log_reads;
    auto it = logs.find(c.name);
    if (it == logs.end()) return std::nullopt;
    return it->second.size() > max ? it->second.substr(it->second.size() - max) : it->second;
  }

  std::vector<Call> calls;
  bool fail_starts = false;
  std::map<std::string, MessageFile> files;
  std::map<std::string, std::string> logs;
  int message_reads = 0, log_reads = 0;

 private:
  void record(std::string s) { calls.push_back({std::move(s), clock_.now()}); }
  lifehook::Clock& clock_;
};

class FakeHooks final : public HookExecutor {
 public:
  struct Op {
    Request req;
    Done done;
    bool finished = false;
  };
  uint64_t submit(const Request& req, Done done) override {
    ops[next] = Op{req, std::move(done)};
    return next++;
  }
  void cancel(uint64_t op) override { finish(op, Outcome::Canceled); }
  void finish(uint64_t op, Outcome o) {
    auto it = ops.find(op);
    if (it == ops.end() || it->second.finished) return;
    it->second.finished = true;
    Result r;
    r.outcome = o;
    r.message = o == Outcome::Success ? "" : "exit status 7";
    it->second.done(op, r);
  }
  // The one running hook of this purpose (0 if none).
  uint64_t running(Purpose p) const {
    for (const auto& [id, op] : ops)
      if (!op.finished && op.req.purpose == p) return id;
    return 0;
  }
  std::map<uint64_t, Op> ops;
  uint64_t next = 1;
};

// Probe attempts, answered as the test scripts them. A probe is named by the first word of its
// exec command (livenessProbe: {exec: {command: [live]}}): every attempt of it succeeds unless
// answers[name] says otherwise; while name is in `held`, attempts stay in flight until release().
class ScriptedProber final : public probe::Prober {
 public:
  explicit ScriptedProber(lifehook::Clock& clock) : clock_(clock) {}
  uint64_t run(const Request& req, std::function<void(probe::Attempt)> done) override {
    std::string name = std::get<ExecSpec>(req.handler).command.at(0);
    uint64_t id = ++next_;
    attempts.push_back({name, clock_.now(), req.timeout_ms});
    if (held.count(name)) {
      pending[id] = {name, std::move(done)};
      return id;
    }
    done(answer(name));
    return id;
  }
  void cancel(uint64_t id) override {
    auto it = pending.find(id);
    if (it == pending.end()) return;
    auto done = std::move(it->second.second);
    pending.erase(it);
    ++canceled;
    Result r;
    r.outcome = Outcome::Canceled;
    done(probe::to_attempt(true, r));
  }
  // Answers every held attempt of `name` now, as answers[name] says.
  void release(const std::string& name) {
    held.erase(name);
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->second.first != name) {
        ++it;
        continue;
      }
      auto done = std::move(it->second.second);
      it = pending.erase(it);
      done(answer(name));
    }
  }
  probe::Attempt answer(const std::string& name) {
    Result r;
    auto it = answers.find(name);
    r.outcome = it == answers.end() ? Outcome::Success : it->second;
    r.exit_code = r.outcome == Outcome::Success ? 0 : 1;
    r.output = name + (r.outcome == Outcome::Success ? " ok" : " not ok");
    r.message = r.outcome == Outcome::Error ? "cannot run " + name : "";
    return probe::to_attempt(true, r);
  }
  // Attempts of `name` so far, and their times in ms after `t0`.
  size_t count(const std::string& name) const {
    size_t n = 0;
    for (const auto& a : attempts) n += a.probe == name;
    return n;
  }
  std::vector<int64_t> times(const std::string& name, lifehook::Clock::TimePoint t0) const {
    std::vector<int64_t> out;
    for (const auto& a : attempts)
      if (a.probe == name) out.push_back(std::chrono::duration_cast<ms>(a.at - t0).count());
    return out;
  }

  struct Seen {
    std::string probe;
    lifehook::Clock::TimePoint at;
    int64_t timeout_ms;
  };
  std::map<std::string, Outcome> answers;
  std::set<std::string> held;
  std::map<uint64_t, std::pair<std::string, std::function<void(probe::Attempt)>>> pending;
  std::vector<Seen> attempts;
  int canceled = 0;

 private:
  lifehook::Clock& clock_;
  uint64_t next_ = 0;
};

// One pod's lifecycle on the test's thread.
struct Sim {
  FakeClock clock;
  boost::asio::io_context io;  // only for the strand type: nothing runs on it
  FakeHooks hooks;
  ScriptedProber prober{clock};
  FakeDriver* driver = nullptr;
  std::vector<Event> events;
  std::deque<Work> queue;
  std::shared_ptr<spdlog::logger> log =
      std::make_shared<spdlog::logger>("sim", std::make_shared<spdlog::sinks::null_sink_mt>());
  PodSpec spec;
  std::unique_ptr<Lifecycle> l;
  lifehook::Clock::TimePoint t0 = clock.now();

  explicit Sim(const json& pod, BackoffOptions backoff = {}) : spec(parse_pod_json(pod)) {
    LifecycleEnv env{clock,
                     boost::asio::make_strand(io),
                     [this](Work w) { queue.push_back(std::move(w)); },
                     [this](const Work& w) { run(w); },
                     hooks,
                     [this](Event e) { events.push_back(std::move(e)); },
                     *log,
                     prober};
    l = std::make_unique<Lifecycle>(spec, backoff, std::move(env));
    auto d = std::make_unique<FakeDriver>(clock);
    driver = d.get();
    l->set_driver(std::move(d));
  }
  ~Sim() { l->release(); }

  void run(const Work& w) {
    Deferred d;
    w(*l, d);
    for (auto& f : d) f();
  }
  void drain() {
    while (!queue.empty()) {
      Work w = std::move(queue.front());
      queue.pop_front();
      run(w);
    }
  }
  void start() {
    l->mark_started();
    run([](Lifecycle& l, Deferred& d) { l.advance(d); });
    drain();
  }
  void advance(ms d) {
    auto until = clock.now() + d;
    // Step timer by timer, draining what each firing queued, as the strand would.
    while (clock.next_due() <= until) {
      clock.set(clock.next_due());
      drain();
    }
    clock.set(until);
    drain();
  }
  void exit(const std::string& name, drivers::InstanceId instance, int code, int sig = 0) {
    queue.push_back([=](Lifecycle& l, Deferred& d) { l.on_exit(name, instance, code, sig, d); });
    drain();
  }
  void terminate(int64_t grace_ms) {
    run([this, grace_ms](Lifecycle& l, Deferred& d) { l.terminate(grace_ms, clock.now(), d); });
    drain();
  }
  void finish_hook(Purpose p, Outcome o) {
    hooks.finish(hooks.running(p), o);
    drain();
  }
  json status() { return build_status(l->view(), clock.wall_now()); }
  std::string column() { return status()["display"]["status"]; }
  std::vector<std::string> calls() {
    std::vector<std::string> out;
    for (const auto& c : driver->calls) out.push_back(c.text);
    return out;
  }
  // When (ms after t0) the driver saw `text`; -1 if never.
  int64_t when(const std::string& text) {
    for (const auto& c : driver->calls)
      if (c.text == text) return std::chrono::duration_cast<ms>(c.at - t0).count();
    return -1;
  }
  size_t count(EventReason r) {
    size_t n = 0;
    for (const auto& e : events) n += e.reason == name(r);
    return n;
  }
};

inline SequencerSlot slot(Role r) {
  SequencerSlot s;
  s.role = r;
  return s;
}

inline json ctr(const std::string& name) { return {{"name", name}, {"image", "busybox"}, {"command", {"app"}}}; }

inline json pod(json containers, json init = json::array(), json extra = json::object()) {
  json spec = {{"containers", std::move(containers)}};
  if (!init.empty()) spec["initContainers"] = std::move(init);
  for (auto& [k, v] : extra.items()) spec[k] = v;
  return {{"metadata", {{"name", "sim"}, {"namespace", "default"}, {"uid", "u"}}}, {"spec", spec}};
}

inline json with_hooks(json c, bool post_start, bool pre_stop) {
  json exec = {{"exec", {{"command", {"hook"}}}}};
  if (post_start) c["lifecycle"]["postStart"] = exec;
  if (pre_stop) c["lifecycle"]["preStop"] = exec;
  return c;
}

}  // namespace lifehook::pod::sim
