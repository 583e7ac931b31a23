// The probe worker in simulated time: initial delay, period, thresholds, hold, startup gating,
// prober errors, slow probes, stop. Each assertion is exact (no wall clock involved).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "plugin/probe/worker.hpp"
#include "probe_fake_timing.hpp"

using lifehook::json;
using lifehook::Purpose;
using lifehook::Request;
using lifehook::Result;
using lifehook::Target;
using namespace lifehook::probe;
using namespace lifehook::probe::testing;
using namespace std::chrono_literals;

namespace {

struct Published {
  ProbeType type;
  Verdict verdict;
  Clock::time_point at;
};

struct Bench {
  FakeTiming timing;
  FakeProber prober{timing};
  Results results;
  ContainerView view;
  std::vector<Published> published;
  std::vector<Attempt> attempts;
  std::shared_ptr<int> owner = std::make_shared<int>(0);
  Clock::time_point t0 = timing.now();

  Bench() {
    view.instance = 1;
    view.running = true;
    view.started_at = timing.now();
    results.set_listener([this](const std::string&, ProbeType t, Verdict v, const Attempt*) {
      published.push_back({t, v, timing.now()});
    });
  }

  std::shared_ptr<Worker> make(ProbeType type, const char* probe_json) {
    ProbeSpec s = parse_probe(json::parse(probe_json), "probe", type, {}, {});
    return Worker::create(
        owner, "app", s, probe_request(s, Target{}), timing, prober, results, [this] { return view; },
        [this](const Worker&, const Attempt& a) { attempts.push_back(a); });
  }
  // Seconds since t0 of every attempt start.
  std::vector<double> start_seconds() const {
    std::vector<double> out;
    for (auto t : prober.starts) out.push_back(std::chrono::duration<double>(t - t0).count());
    return out;
  }
  Verdict current(ProbeType t) { return results.get("app", t).value_or(Verdict::Unknown); }
};

constexpr const char* kTcp = R"({"tcpSocket":{"host":"127.0.0.1","port":1}})";

std::string with(const std::string& extra) {
  return R"({"tcpSocket":{"host":"127.0.0.1","port":1})" + (extra.empty() ? "" : "," + extra) + "}";
}

}  // namespace

TEST(ProbeWorker, FirstProbeAtOnceThenOnePerDefaultPeriod) {
  Bench b;
  b.prober.autorespond = [] { return success(); };
  auto w = b.make(ProbeType::Readiness, kTcp);
  w->start();
  b.timing.advance(35s);
  EXPECT_EQ(b.start_seconds(), (std::vector<double>{0, 10, 20, 30}));
  EXPECT_EQ(b.prober.pending.size(), 0u);
}

TEST(ProbeWorker, InitialValuesAsTheKubelet) {
  for (auto [type, v] :
       {std::pair{ProbeType::Readiness, Verdict::Failure}, std::pair{ProbeType::Liveness, Verdict::Success},
        std::pair{ProbeType::Startup, Verdict::Unknown}}) {
    Bench b;
    b.view.started = type != ProbeType::Startup;
    auto w = b.make(type, kTcp);  // attempts stay in flight: only the initial value is published
    w->start();
    EXPECT_EQ(b.results.get("app", type), v) << probe_type_name(type);
  }
}

TEST(ProbeWorker, InitialDelaySkipsTicksInWholeSeconds) {
  Bench b;
  b.prober.autorespond = [] { return success(); };
  auto w = b.make(ProbeType::Readiness, with(R"("initialDelaySeconds":5,"periodSeconds":2)").c_str());
  w->start();
  b.timing.advance(10500ms);
  // Ticks at 0, 2, 4 are younger than 5 s; 6, 8, 10 probe.
  EXPECT_EQ(b.start_seconds(), (std::vector<double>{6, 8, 10}));
  // Never ready before the initial delay.
  ASSERT_FALSE(b.published.empty());
  EXPECT_EQ(b.published.front().verdict, Verdict::Failure);
  EXPECT_EQ(b.published.back().verdict, Verdict::Success);
  EXPECT_EQ(b.published.back().at - b.t0, 6s);
}

TEST(ProbeWorker, InitialDelayTruncatesTheContainerAgeToSeconds) {
  Bench b;
  b.prober.autorespond = [] { return success(); };
  b.view.started_at = b.t0 - 4900ms;  // 4.9 s old: int32(4.9) = 4 < 5
  auto w = b.make(ProbeType::Readiness, with(R"("initialDelaySeconds":5,"periodSeconds":1)").c_str());
  w->start();
  EXPECT_TRUE(b.prober.starts.empty());
  b.timing.advance(1s);  // 5.9 s old
  EXPECT_EQ(b.start_seconds(), (std::vector<double>{1}));
}

TEST(ProbeWorker, LivenessPublishesFailureAtTheThresholdThenHoldsUntilANewInstance) {
  Bench b;
  b.prober.autorespond = [] { return failure("cat: /tmp/health: No such file or directory"); };
  auto w = b.make(ProbeType::Liveness, with(R"("periodSeconds":1,"failureThreshold":3)").c_str());
  w->start();
  b.timing.advance(1s);
  EXPECT_EQ(b.current(ProbeType::Liveness), Verdict::Success);  // two failures: not yet
  b.timing.advance(1s);
  EXPECT_EQ(b.current(ProbeType::Liveness), Verdict::Failure);
  ASSERT_EQ(b.published.size(), 2u);  // initial Success, then Failure at 2 s
  EXPECT_EQ(b.published[1].at - b.t0, 2s);
  EXPECT_TRUE(w->on_hold());
  EXPECT_EQ(b.attempts.size(), 3u);  // every attempt is reported (an Unhealthy event each)
  b.timing.advance(10s);
  EXPECT_EQ(b.prober.starts.size(), 3u) << "a held worker does not probe";
  // The restarted container: initial value again, probing resumes, the count starts over.
  b.view.instance = 2;
  b.view.started_at = b.timing.now();
  b.prober.autorespond = [] { return success(); };
  b.timing.advance(1s);
  EXPECT_FALSE(w->on_hold());
  EXPECT_EQ(b.prober.starts.size(), 4u);
  EXPECT_EQ(b.current(ProbeType::Liveness), Verdict::Success);
}

TEST(ProbeWorker, KickProbesANewInstanceAtOnce) {
  Bench b;
  b.prober.autorespond = [] { return success(); };
  auto w = b.make(ProbeType::Readiness, with(R"("periodSeconds":10)").c_str());
  w->start();
  b.timing.advance(3s);
  b.view.instance = 2;
  b.view.started_at = b.timing.now();
  w->kick();
  b.timing.advance(11s);
  EXPECT_EQ(b.start_seconds(), (std::vector<double>{0, 3, 13}));
}

TEST(ProbeWorker, ReadinessSuccessThresholdAndFailureThreshold) {
  Bench b;
  std::deque<Attempt> script = {success(), success(), failure(), failure(), success(), failure(), failure(), failure()};
  b.prober.autorespond = [&] {
    Attempt a = script.front();
    script.pop_front();
    return a;
  };
  auto w = b.make(ProbeType::Readiness, with(R"("periodSeconds":1,"successThreshold":2,"failureThreshold":3)").c_str());
  w->start();  // s (run 1)
  EXPECT_EQ(b.current(ProbeType::Readiness), Verdict::Failure);
  b.timing.advance(1s);  // s (run 2): ready
  EXPECT_EQ(b.current(ProbeType::Readiness), Verdict::Success);
  b.timing.advance(3s);  // f f s: the failures never reached 3 in a row
  EXPECT_EQ(b.current(ProbeType::Readiness), Verdict::Success);
  b.timing.advance(2s);  // f f
  EXPECT_EQ(b.current(ProbeType::Readiness), Verdict::Success);
  b.timing.advance(1s);  // f: third in a row
  EXPECT_EQ(b.current(ProbeType::Readiness), Verdict::Failure);
  EXPECT_FALSE(w->on_hold()) << "readiness never holds";
  ASSERT_EQ(b.published.size(), 3u);
  EXPECT_EQ(b.published[1].at - b.t0, 1s);
  EXPECT_EQ(b.published[2].at - b.t0, 7s);
}

TEST(ProbeWorker, StartupGatesLivenessAndReadiness) {
  Bench b;
  b.view.started = false;
  b.prober.autorespond = [] { return failure(); };
  auto live = b.make(ProbeType::Liveness, with(R"("periodSeconds":1)").c_str());
  auto ready = b.make(ProbeType::Readiness, with(R"("periodSeconds":1)").c_str());
  live->start();
  ready->start();
  b.timing.advance(5s);
  EXPECT_TRUE(b.prober.starts.empty()) << "liveness and readiness skip until started";
  auto startup = b.make(ProbeType::Startup, with(R"("periodSeconds":1,"failureThreshold":30)").c_str());
  startup->start();
  b.timing.advance(2s);
  EXPECT_EQ(b.prober.starts.size(), 3u);
  EXPECT_EQ(b.current(ProbeType::Startup), Verdict::Unknown);
  b.prober.autorespond = [] { return success(); };
  b.timing.advance(1s);
  EXPECT_EQ(b.current(ProbeType::Startup), Verdict::Success);
  EXPECT_TRUE(startup->on_hold()) << "any startup result holds the startup worker";
  size_t n = b.prober.starts.size();
  b.view.started = true;  // the owner derives Started from the startup result
  b.timing.advance(1s);
  EXPECT_EQ(b.prober.starts.size(), n + 2) << "liveness and readiness begin; startup idles";
}

TEST(ProbeWorker, StartupFailureThresholdPublishesFailureAndHolds) {
  Bench b;
  b.view.started = false;
  b.prober.autorespond = [] { return failure(); };
  auto w = b.make(ProbeType::Startup, with(R"("periodSeconds":2,"failureThreshold":4)").c_str());
  w->start();
  b.timing.advance(5s);
  EXPECT_EQ(b.current(ProbeType::Startup), Verdict::Unknown);
  b.timing.advance(1s);
  EXPECT_EQ(b.current(ProbeType::Startup), Verdict::Failure);
  EXPECT_EQ(b.published.back().at - b.t0, 6s);
  EXPECT_TRUE(w->on_hold());
}

TEST(ProbeWorker, NotRunningIsFailureAndEndsTheWorkerOnlyWithoutRestart) {
  Bench b;
  b.prober.autorespond = [] { return success(); };
  auto w = b.make(ProbeType::Readiness, with(R"("periodSeconds":1)").c_str());
  w->start();
  EXPECT_EQ(b.current(ProbeType::Readiness), Verdict::Success);
  b.view.running = false;
  b.timing.advance(1s);
  EXPECT_EQ(b.current(ProbeType::Readiness), Verdict::Failure);
  EXPECT_FALSE(w->stopped());
  b.view.will_restart = false;
  b.timing.advance(1s);
  EXPECT_TRUE(w->stopped());
  EXPECT_EQ(b.prober.starts.size(), 1u);
}

TEST(ProbeWorker, TerminatingEndsLivenessWithSuccessButReadinessGoesOn) {
  Bench b;
  b.prober.autorespond = [] { return failure(); };
  auto live = b.make(ProbeType::Liveness, with(R"("periodSeconds":1,"failureThreshold":5)").c_str());
  auto ready = b.make(ProbeType::Readiness, with(R"("periodSeconds":1)").c_str());
  live->start();
  ready->start();
  b.view.terminating = true;
  b.timing.advance(3s);
  EXPECT_TRUE(live->stopped());
  EXPECT_EQ(b.current(ProbeType::Liveness), Verdict::Success);
  EXPECT_FALSE(ready->stopped());
  b.view.terminal = true;
  b.timing.advance(1s);
  EXPECT_TRUE(ready->stopped());
}

TEST(ProbeWorker, ProberErrorsAreRetriedThenThrownAway) {
  Bench b;
  b.prober.autorespond = [] { return errored(); };
  auto w = b.make(ProbeType::Liveness, with(R"("periodSeconds":1,"failureThreshold":1)").c_str());
  w->start();
  EXPECT_EQ(b.prober.starts.size(), 3u);  // maxProbeRetries: three attempts at once
  EXPECT_EQ(b.current(ProbeType::Liveness), Verdict::Success) << "an error never counts as a failure";
  EXPECT_EQ(w->result_run(), 0);
  EXPECT_EQ(b.attempts.size(), 3u);  // each reported ("errored" events)
  b.timing.advance(1s);
  EXPECT_EQ(b.prober.starts.size(), 6u);
}

TEST(ProbeWorker, ASlowProbeDelaysTheNextTickNeverOverlaps) {
  Bench b;
  auto w = b.make(ProbeType::Readiness, with(R"("periodSeconds":1,"timeoutSeconds":5)").c_str());
  w->start();
  b.timing.advance(3500ms);  // ticks at 1, 2, 3 while the first attempt is in flight
  EXPECT_EQ(b.prober.starts.size(), 1u);
  b.prober.answer(success());  // the buffered tick runs at once
  EXPECT_EQ(b.start_seconds(), (std::vector<double>{0, 3.5}));
  b.prober.answer(success());
  b.timing.advance(500ms);  // back on the grid: 4 s
  EXPECT_EQ(b.start_seconds(), (std::vector<double>{0, 3.5, 4}));
}

TEST(ProbeWorker, StopCancelsTheAttemptInFlightAndIgnoresLateCompletions) {
  Bench b;
  auto w = b.make(ProbeType::Liveness, with(R"("periodSeconds":1)").c_str());
  w->start();
  ASSERT_EQ(b.prober.pending.size(), 1u);
  w->stop();
  EXPECT_EQ(b.prober.canceled.size(), 1u);
  b.timing.advance(10s);
  EXPECT_EQ(b.prober.starts.size(), 1u);
  EXPECT_EQ(b.attempts.size(), 0u);
}

TEST(ProbeWorker, TheRequestCarriesTheProbeTimeoutAndPurpose) {
  ProbeSpec s = parse_probe(json::parse(with(R"("timeoutSeconds":3)")), "p", ProbeType::Liveness, {}, {});
  Request r = probe_request(s, Target{});
  EXPECT_EQ(r.timeout_ms, 3000);
  EXPECT_EQ(r.purpose, Purpose::Liveness);
}

TEST(ProbeWorker, NoInstanceYetWaits) {
  Bench b;
  b.view.instance = 0;
  b.prober.autorespond = [] { return success(); };
  auto w = b.make(ProbeType::Readiness, with(R"("periodSeconds":1)").c_str());
  w->start();
  b.timing.advance(3s);
  EXPECT_TRUE(b.prober.starts.empty());
  EXPECT_FALSE(b.results.get("app", ProbeType::Readiness));
}

// On the loop, attempts due within a grid step of each other share one timer expiry (AsioTiming's
// coalesce): each probe is started at most a step late, the same step every period, so its own
// period is kept exactly.
TEST(ProbeWorker, AttemptsStartOnTheCoalescingGridKeepingTheirPeriod) {
  Bench b;
  b.timing.grid = 2ms;
  b.prober.autorespond = [] { return success(); };
  b.timing.advance(3ms);  // t0 + 3 ms: off the grid (t0 is on it)
  b.view.started_at = b.timing.now();
  auto w = b.make(ProbeType::Readiness, with(R"("periodSeconds":1)").c_str());
  w->start();
  b.timing.advance(3500ms);
  // The first attempt at once; then each 1 s after it, rounded up to the 2 ms grid: +1 ms.
  EXPECT_EQ(b.start_seconds(), (std::vector<double>{0.003, 1.004, 2.004, 3.004}));
}

TEST(ProbeWorker, TheLoopsTimingRoundsUpToItsGridNeverEarlier) {
  boost::asio::io_context io;
  AsioTiming t(boost::asio::make_strand(io));
  const auto grid = std::chrono::duration_cast<Clock::duration>(AsioTiming::kCoalesceGrid);
  Clock::time_point on_grid(grid * 1000);
  EXPECT_EQ(t.coalesce(on_grid), on_grid);
  for (auto off : {Clock::duration(1), grid / 2, grid - Clock::duration(1)}) {
    EXPECT_EQ(t.coalesce(on_grid + off), on_grid + grid);
    EXPECT_GE(t.coalesce(on_grid + off), on_grid + off);
  }
}
