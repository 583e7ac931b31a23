// The pod engine in simulated time: the lifecycle state machine driven by a fake clock, an
// in-memory driver and a fake hook executor, all on the test's thread. Ordering, the crash-loop
// backoff table, grace arithmetic (2 s floor, a grace that only shrinks, grace 0), restart
// policies and lost exits are checked exactly, in milliseconds of real time.
#include "engine_sim.hpp"

namespace lifehook::pod {
namespace {

using namespace sim;
// ---- sequencer --------------------------------------------------------------------------

TEST(Sequencer, InitContainersStrictlyInOrderThenMainOneAtATime) {
  auto now = std::chrono::steady_clock::now();
  SequencerInput in;
  in.started = true;
  in.containers = {slot(Role::Init), slot(Role::Init), slot(Role::Main), slot(Role::Main)};
  EXPECT_EQ(next_start(in, now).start, 0u);
  in.containers[0].alive = in.containers[0].ever_started = true;
  EXPECT_FALSE(next_start(in, now).start) << "the second init container waits for the first";
  in.containers[0].alive = false;
  in.containers[0].succeeded = true;
  EXPECT_EQ(next_start(in, now).start, 1u);
  in.containers[1].ever_started = in.containers[1].succeeded = true;
  auto d = next_start(in, now);
  EXPECT_TRUE(d.initialized);
  EXPECT_EQ(d.start, 2u);
  in.busy = true;
  EXPECT_FALSE(next_start(in, now).start) << "one start pipeline at a time";
  in.busy = false;
  in.containers[2].alive = in.containers[2].ever_started = true;
  EXPECT_EQ(next_start(in, now).start, 3u);
}

TEST(Sequencer, RestartsWaitForTheirTimeAndNothingStartsWhenTerminating) {
  auto now = std::chrono::steady_clock::now();
  SequencerInput in;
  in.started = true;
  in.containers = {slot(Role::Init), slot(Role::Main)};
  in.containers[0].ever_started = true;
  in.containers[0].restart_at = now + 10s;
  EXPECT_FALSE(next_start(in, now).start);
  EXPECT_EQ(next_start(in, now + 10s).start, 0u);
  in.terminating = true;
  EXPECT_FALSE(next_start(in, now + 10s).start);
  in.terminating = false;
  in.started = false;
  EXPECT_FALSE(next_start(in, now + 10s).start);
}

// ---- restart decisions ------------------------------------------------------------------

TEST(Restart, DecisionPerRoleAndPolicy) {
  using P = RestartPolicy;
  for (P p : {P::Always, P::OnFailure, P::Never}) {
    EXPECT_TRUE(decide_restart(Role::Sidecar, p, false).restart);
    EXPECT_TRUE(decide_restart(Role::Sidecar, p, true).restart);
    EXPECT_FALSE(decide_restart(Role::Init, p, false).restart);
    EXPECT_TRUE(decide_restart(Role::Init, p, false).succeeded);
    EXPECT_EQ(decide_restart(Role::Init, p, true).restart, p != P::Never);
  }
  EXPECT_TRUE(decide_restart(Role::Main, P::Always, false).restart);
  EXPECT_TRUE(decide_restart(Role::Main, P::Always, true).restart);
  EXPECT_FALSE(decide_restart(Role::Main, P::OnFailure, false).restart);
  EXPECT_TRUE(decide_restart(Role::Main, P::OnFailure, true).restart);
  EXPECT_FALSE(decide_restart(Role::Main, P::Never, true).restart);
}

// ---- backoff ----------------------------------------------------------------------------

// The kubelet's schedule: the first restart is immediate, then 10, 20, 40, 80, 160, 300, 300 s
// after each exit; after 10 min of running the next crash restarts at once again.
TEST(PodEngineSim, CrashLoopBackOffTableAndReset) {
  Sim s(pod(json::array({ctr("app")})));
  s.start();
  drivers::InstanceId inst = 1;
  EXPECT_EQ(s.calls().back(), "start app#1");
  std::vector<int64_t> expected = {0, 10000, 20000, 40000, 80000, 160000, 300000, 300000};
  for (size_t i = 0; i < expected.size(); ++i) {
    s.advance(1ms);  // it ran for a moment
    s.exit("app", inst, 1);
    std::string next = "start app#" + std::to_string(inst + 1);
    if (expected[i] > 0) {
      EXPECT_EQ(s.column(), "CrashLoopBackOff") << i;
      s.advance(ms(expected[i] - 1));
      EXPECT_NE(s.calls().back(), next) << "restart " << i << " came early";
      s.advance(1ms);
    }
    EXPECT_EQ(s.calls().back(), next) << "restart " << i;
    ++inst;
  }
  EXPECT_EQ(s.status()["containerStatuses"][0]["restartCount"], 8);
  EXPECT_EQ(s.count(EventReason::BackOff), 7u);
  // Ten minutes and a bit of running: the backoff entry expired, the restart is immediate.
  s.advance(600001ms);
  s.exit("app", inst, 1);
  EXPECT_EQ(s.calls().back(), "start app#" + std::to_string(inst + 1));
}

TEST(PodEngineSim, BackoffMessageAndInitCrashLoop) {
  Sim s(pod(json::array({ctr("app")}), json::array({ctr("init")})), BackoffOptions{1500ms, 5000ms, 600000ms});
  s.start();
  s.exit("init", 1, 1);
  EXPECT_EQ(s.calls().back(), "start init#2") << "first restart immediate";
  s.exit("init", 2, 1);
  json st = s.status();
  EXPECT_EQ(st["display"]["status"], "Init:CrashLoopBackOff");
  EXPECT_EQ(st["initContainerStatuses"][0]["state"]["waiting"]["message"],
            "back-off 1.5s restarting failed container=init pod=sim_default(u)");
  s.advance(1500ms);
  EXPECT_EQ(s.calls().back(), "start init#3");
  s.exit("init", 3, 0);
  EXPECT_EQ(s.calls().back(), "start app#1");
  EXPECT_EQ(s.column(), "Running");
}

// ---- restart policies -------------------------------------------------------------------

TEST(PodEngineSim, RestartPolicies) {
  struct Case {
    const char* policy;
    int code;
    bool restarts;
    const char* phase;
  };
  for (Case k : {Case{"Always", 0, true, "Running"}, Case{"Always", 1, true, "Running"},
                 Case{"OnFailure", 0, false, "Succeeded"}, Case{"OnFailure", 1, true, "Running"},
                 Case{"Never", 0, false, "Succeeded"}, Case{"Never", 1, false, "Failed"}}) {
    Sim s(pod(json::array({ctr("app")}), json::array(), {{"restartPolicy", k.policy}}));
    s.start();
    s.exit("app", 1, k.code);
    EXPECT_EQ(s.calls().back() == "start app#2", k.restarts) << k.policy << " " << k.code;
    EXPECT_EQ(s.status()["phase"], k.phase) << k.policy << " " << k.code;
    EXPECT_EQ(s.l->terminal(), !k.restarts) << k.policy << " " << k.code;
  }
}

TEST(PodEngineSim, FailedInitContainerWithNeverFailsThePod) {
  Sim s(pod(json::array({ctr("app")}), json::array({ctr("init")}), {{"restartPolicy", "Never"}}));
  s.start();
  s.exit("init", 1, 2);
  EXPECT_EQ(s.status()["phase"], "Failed");
  EXPECT_EQ(s.column(), "Init:Error");
  EXPECT_EQ(s.when("start app#1"), -1);
  EXPECT_TRUE(s.l->terminal());
}

TEST(PodEngineSim, StartErrorIsATerminatedStartError) {
  Sim s(pod(json::array({ctr("app")}), json::array(), {{"restartPolicy", "Never"}}));
  s.driver->fail_starts = true;
  s.start();
  json st = s.status()["containerStatuses"][0]["state"]["terminated"];
  EXPECT_EQ(st["reason"], "StartError");
  EXPECT_EQ(st["exitCode"], 128);
  EXPECT_EQ(s.calls(), (std::vector<std::string>{"start app#1", "remove app#1"}));
  EXPECT_EQ(s.count(EventReason::Failed), 1u);
}

// ---- grace arithmetic -------------------------------------------------------------------

TEST(PodEngineSim, StopSignalThenKillAtTheDeadline) {
  Sim s(pod(json::array({ctr("app")})));
  s.start();
  s.terminate(30000);
  EXPECT_EQ(s.when("signal app#1 15"), 0);
  s.advance(29999ms);
  EXPECT_EQ(s.when("kill app#1"), -1);
  s.advance(1ms);
  EXPECT_EQ(s.when("kill app#1"), 30000);
  EXPECT_FALSE(s.l->stopped());
  s.exit("app", 1, 137, SIGKILL);
  EXPECT_TRUE(s.l->stopped());
  EXPECT_EQ(s.calls().back(), "remove app#1");
}

TEST(PodEngineSim, TwoSecondFloorBetweenSignalAndKill) {
  Sim s(pod(json::array({ctr("app")})));
  s.start();
  s.terminate(500);
  EXPECT_EQ(s.when("signal app#1 15"), 0);
  s.advance(5s);
  EXPECT_EQ(s.when("kill app#1"), 2000) << "never sooner than 2 s after the stop signal";
}

TEST(PodEngineSim, GraceZeroKillsAtOnceWithoutSignal) {
  Sim s(pod(json::array({with_hooks(ctr("app"), false, true)})));
  s.start();
  s.terminate(0);
  EXPECT_EQ(s.when("kill app#1"), 0);
  EXPECT_EQ(s.when("signal app#1 15"), -1);
  EXPECT_EQ(s.hooks.running(Purpose::PreStop), 0u) << "no preStop with grace 0";
}

TEST(PodEngineSim, GraceOnlyShrinks) {
  Sim s(pod(json::array({ctr("app")})));
  s.start();
  s.terminate(30000);
  s.advance(1000ms);
  s.terminate(60000);  // longer: changes nothing
  s.advance(1000ms);
  s.terminate(5000);  // shorter: kill at 2 s + 5 s = 7 s after t0
  s.advance(10s);
  EXPECT_EQ(s.when("kill app#1"), 7000);
  EXPECT_EQ(s.when("signal app#1 15"), 0);
}

TEST(PodEngineSim, ShorterGraceAfterTheSignalKeepsTheFloor) {
  Sim s(pod(json::array({ctr("app")})));
  s.start();
  s.terminate(30000);
  s.advance(500ms);
  s.terminate(0);  // the deadline is now: SIGKILL at once (grace 0 is a force kill)
  EXPECT_EQ(s.when("kill app#1"), 500);
}

TEST(PodEngineSim, PreStopBlocksTheSignalUntilItEnds) {
  Sim s(pod(json::array({with_hooks(ctr("app"), false, true)})));
  s.start();
  s.terminate(30000);
  EXPECT_NE(s.hooks.running(Purpose::PreStop), 0u);
  EXPECT_EQ(s.when("signal app#1 15"), -1);
  s.advance(3000ms);
  s.finish_hook(Purpose::PreStop, Outcome::Success);
  EXPECT_EQ(s.when("signal app#1 15"), 3000);
  s.advance(60s);
  EXPECT_EQ(s.when("kill app#1"), 30000);
}

// preStop outlasts the grace: killed at the deadline, the signal then, SIGKILL 2 s later.
TEST(PodEngineSim, PreStopLongerThanGrace) {
  Sim s(pod(json::array({with_hooks(ctr("app"), false, true)})));
  s.start();
  s.terminate(5000);
  s.advance(10s);
  EXPECT_EQ(s.when("signal app#1 15"), 5000);
  EXPECT_EQ(s.when("kill app#1"), 7000);
  EXPECT_EQ(s.hooks.running(Purpose::PreStop), 0u) << "the hook was canceled at the deadline";
  EXPECT_EQ(s.count(EventReason::FailedPreStopHook), 1u);
  s.exit("app", 1, 137, SIGKILL);
  EXPECT_TRUE(s.l->stopped());
}

TEST(PodEngineSim, FailedPreStopStillStops) {
  Sim s(pod(json::array({with_hooks(ctr("app"), false, true)})));
  s.start();
  s.terminate(30000);
  s.finish_hook(Purpose::PreStop, Outcome::Failure);
  EXPECT_EQ(s.when("signal app#1 15"), 0);
  EXPECT_EQ(s.count(EventReason::FailedPreStopHook), 1u);
}

TEST(PodEngineSim, StopSignalFromTheSpec) {
  json c = ctr("app");
  c["lifecycle"]["stopSignal"] = "SIGUSR1";
  Sim s(pod(json::array({c})));
  s.start();
  s.terminate(1000);
  EXPECT_EQ(s.when("signal app#1 " + std::to_string(SIGUSR1)), 0);
}

// ---- lost exits and stale reports -------------------------------------------------------

TEST(PodEngineSim, LostExitIsReportedAndTerminateReturns) {
  Sim s(pod(json::array({ctr("app")})));
  s.start();
  s.terminate(1000);
  s.advance(2000ms + kExitReportWindow - 1ms);
  EXPECT_FALSE(s.l->stopped());
  s.advance(1ms);
  EXPECT_TRUE(s.l->stopped());
  EXPECT_EQ(s.count(EventReason::FailedKillPod), 1u);
  json t = s.status()["containerStatuses"][0]["state"]["terminated"];
  EXPECT_EQ(t["reason"], "ContainerStatusUnknown");
  EXPECT_EQ(t["exitCode"], 137);
  EXPECT_EQ(s.calls().back(), "remove app#1");
  // The exit arriving after all is stale: nothing changes.
  s.exit("app", 1, 137, SIGKILL);
  EXPECT_EQ(s.count(EventReason::FailedKillPod), 1u);
}

TEST(PodEngineSim, AnEarlierInstancesExitDoesNotTouchTheCurrentOne) {
  Sim s(pod(json::array({ctr("app")})));
  s.start();
  s.exit("app", 1, 1);
  EXPECT_EQ(s.calls().back(), "start app#2");
  s.exit("app", 1, 1);  // a duplicate of the first instance's exit
  EXPECT_EQ(s.column(), "Running");
  EXPECT_EQ(s.status()["containerStatuses"][0]["restartCount"], 1);
  // Stop calls name the current instance.
  s.terminate(0);
  EXPECT_EQ(s.calls().back(), "kill app#2");
}

// ---- postStart --------------------------------------------------------------------------

TEST(PodEngineSim, PostStartBlocksTheNextContainerAndReadiness) {
  Sim s(pod(json::array({with_hooks(ctr("a"), true, false), ctr("b")})));
  s.start();
  EXPECT_EQ(s.calls(), (std::vector<std::string>{"start a#1"}));
  EXPECT_EQ(s.column(), "ContainerCreating");
  s.advance(5s);
  s.finish_hook(Purpose::PostStart, Outcome::Success);
  EXPECT_EQ(s.calls().back(), "start b#1");
  EXPECT_EQ(s.column(), "Running");
}

TEST(PodEngineSim, PostStartFailureKillsWithPreStopAndRestarts) {
  Sim s(pod(json::array({with_hooks(ctr("app"), true, true)})), BackoffOptions{60000ms, 300000ms, 600000ms});
  s.start();
  s.finish_hook(Purpose::PostStart, Outcome::Failure);
  EXPECT_EQ(s.count(EventReason::FailedPostStartHook), 1u);
  ASSERT_EQ(s.count(EventReason::Killing), 1u);
  EXPECT_NE(s.hooks.running(Purpose::PreStop), 0u) << "preStop runs when postStart failed";
  s.finish_hook(Purpose::PreStop, Outcome::Success);
  EXPECT_EQ(s.calls().back(), "signal app#1 15");
  s.exit("app", 1, 143, SIGTERM);
  EXPECT_EQ(s.calls().back(), "start app#2") << "first restart immediate";
  s.finish_hook(Purpose::PostStart, Outcome::Failure);
  s.finish_hook(Purpose::PreStop, Outcome::Success);
  s.exit("app", 2, 143, SIGTERM);
  json st = s.status()["containerStatuses"][0];
  EXPECT_EQ(st["state"]["waiting"]["reason"], "CrashLoopBackOff");
  EXPECT_EQ(st["restartCount"], 1);
}

// The container exits while its postStart runs: the hook is canceled, the pipeline ends, the
// restart is immediate and a terminate(0) afterwards returns at once.
TEST(PodEngineSim, ExitDuringPostStart) {
  Sim s(pod(json::array({with_hooks(ctr("app"), true, false)})));
  s.start();
  s.exit("app", 1, 3);
  EXPECT_EQ(s.calls().back(), "start app#2");
  EXPECT_NE(s.hooks.running(Purpose::PostStart), 0u);
  s.exit("app", 2, 3);
  EXPECT_EQ(s.status()["containerStatuses"][0]["state"]["waiting"]["reason"], "CrashLoopBackOff");
  s.terminate(0);
  EXPECT_TRUE(s.l->stopped());
}

TEST(PodEngineSim, TerminateDuringStartStopsOnceStarted) {
  Sim s(pod(json::array({ctr("app")})));
  s.l->mark_started();
  // The start completion is queued, not handled yet, when terminate arrives.
  s.run([](Lifecycle& l, Deferred& d) { l.advance(d); });
  s.terminate(10000);
  EXPECT_FALSE(s.l->stopped());
  s.drain();
  EXPECT_EQ(s.when("signal app#1 15"), 0);
}

}  // namespace
}  // namespace lifehook::pod
