// Probes inside a pod, in simulated time: Kubernetes' container-probe conformance scenarios
// (test/e2e/common/node/container_probe.go) translated to the engine with a scripted prober —
// readiness gating ready and the READY column, liveness and startup killing and restarting as the
// kubelet does (computePodActions, setTerminationGracePeriod), startup gating liveness, the events
// (Unhealthy per failed attempt, Killing, ProbeRecovered) and probes ending with the container.
#include "engine_sim.hpp"

namespace lifehook::pod {
namespace {

using namespace sim;

json probe_exec(const std::string& name, json extra = json::object()) {
  json p = {{"exec", {{"command", {name}}}}};
  for (auto& [k, v] : extra.items()) p[k] = v;
  return p;
}

json with_probe(json c, const char* field, json probe) {
  c[field] = std::move(probe);
  return c;
}

bool condition(const json& status, const std::string& type) {
  for (const auto& c : status["conditions"])
    if (c["type"] == type) return c["status"] == "True";
  return false;
}

std::vector<std::string> messages(const Sim& s, EventReason r) {
  std::vector<std::string> out;
  for (const auto& e : s.events)
    if (e.reason == name(r)) out.push_back(e.message);
  return out;
}

// "should not be ready before initial delay and never restart"
TEST(PodProbesSim, ReadinessWaitsForTheInitialDelayAndNeverRestarts) {
  Sim s(pod(json::array({with_probe(ctr("app"), "readinessProbe",
                                    probe_exec("ready", {{"initialDelaySeconds", 20}, {"periodSeconds", 5}}))})));
  s.start();
  json st = s.status();
  EXPECT_EQ(st["containerStatuses"][0]["state"].begin().key(), "running");
  EXPECT_FALSE(st["containerStatuses"][0]["ready"]);
  EXPECT_EQ(st["display"]["ready"], "0/1");
  EXPECT_FALSE(condition(st, "Ready"));
  s.advance(19999ms);
  EXPECT_EQ(s.prober.count("ready"), 0u) << "no attempt before initialDelaySeconds";
  EXPECT_FALSE(s.status()["containerStatuses"][0]["ready"]);
  s.advance(1ms);
  EXPECT_EQ(s.prober.times("ready", s.t0), std::vector<int64_t>{20000});
  st = s.status();
  EXPECT_TRUE(st["containerStatuses"][0]["ready"]);
  EXPECT_EQ(st["display"]["ready"], "1/1");
  EXPECT_TRUE(condition(st, "ContainersReady"));
  EXPECT_TRUE(condition(st, "Ready"));
  s.advance(60s);
  EXPECT_EQ(s.prober.times("ready", s.t0).back(), 80000) << "one attempt per period";
  EXPECT_EQ(s.status()["containerStatuses"][0]["restartCount"], 0);
  EXPECT_EQ(s.count(EventReason::Killing), 0u);
}

// "should never be ready and never restart" (a readiness probe that always fails).
TEST(PodProbesSim, FailingReadinessIsNeverReadyNeverRestartsAndSaysWhyEachTime) {
  Sim s(pod(json::array({with_probe(ctr("app"), "readinessProbe", probe_exec("ready"))})));
  s.prober.answers["ready"] = Outcome::Failure;
  s.start();
  s.advance(30s);
  EXPECT_EQ(s.prober.times("ready", s.t0), (std::vector<int64_t>{0, 10000, 20000, 30000}));
  EXPECT_EQ(messages(s, EventReason::Unhealthy), std::vector<std::string>(4, "Readiness probe failed: ready not ok"))
      << "an Unhealthy event for every failed attempt, not only at the threshold";
  json st = s.status();
  EXPECT_FALSE(st["containerStatuses"][0]["ready"]);
  EXPECT_EQ(st["containerStatuses"][0]["restartCount"], 0);
  EXPECT_EQ(st["display"]["status"], "Running");
  EXPECT_EQ(s.count(EventReason::Killing), 0u);
  // It recovers: ready again, and a Normal event says so (the kubelet is silent there).
  s.prober.answers["ready"] = Outcome::Success;
  s.advance(10s);
  EXPECT_TRUE(s.status()["containerStatuses"][0]["ready"]);
  EXPECT_EQ(messages(s, EventReason::ProbeRecovered),
            std::vector<std::string>{"Readiness probe succeeded after 4 failed attempts"});
}

// "should be restarted with an exec liveness probe": the failure kills with the Killing message,
// then the ordinary stop sequence and restart (immediate the first time, then backoff).
TEST(PodProbesSim, LivenessFailureKillsAndRestarts) {
  Sim s(pod(json::array({with_probe(ctr("app"), "livenessProbe", probe_exec("live", {{"failureThreshold", 1}}))})));
  s.prober.answers["live"] = Outcome::Failure;
  s.start();
  EXPECT_EQ(messages(s, EventReason::Unhealthy), std::vector<std::string>{"Liveness probe failed: live not ok"});
  EXPECT_EQ(messages(s, EventReason::Killing),
            std::vector<std::string>{"Container app failed liveness probe, will be restarted"});
  EXPECT_EQ(s.calls().back(), "signal app#1 15");
  s.advance(5s);
  EXPECT_EQ(s.prober.count("live"), 1u) << "the worker holds until a new instance";
  s.exit("app", 1, 143, SIGTERM);
  EXPECT_EQ(s.when("start app#2"), 5000);
  EXPECT_EQ(s.status()["containerStatuses"][0]["restartCount"], 1);
  EXPECT_EQ(s.prober.count("live"), 2u) << "the new instance is probed at once";
  EXPECT_EQ(s.calls().back(), "signal app#2 15") << "and killed again";
  s.exit("app", 2, 143, SIGTERM);
  EXPECT_EQ(s.status()["containerStatuses"][0]["state"]["waiting"]["reason"], "CrashLoopBackOff");
}

// "should *not* be restarted with a liveness probe that succeeds": failures below the threshold
// do not kill, and the success after them is reported.
TEST(PodProbesSim, LivenessBelowTheThresholdDoesNotKill) {
  Sim s(pod(json::array({with_probe(ctr("app"), "livenessProbe", probe_exec("live"))})));
  s.prober.answers["live"] = Outcome::Failure;
  s.start();
  s.advance(10s);
  EXPECT_EQ(s.count(EventReason::Unhealthy), 2u);
  s.prober.answers["live"] = Outcome::Success;
  s.advance(10s);
  EXPECT_EQ(s.count(EventReason::Killing), 0u);
  EXPECT_EQ(messages(s, EventReason::ProbeRecovered),
            std::vector<std::string>{"Liveness probe succeeded after 2 failed attempts"});
  s.prober.answers["live"] = Outcome::Failure;
  s.advance(30s);
  EXPECT_EQ(s.count(EventReason::Killing), 1u) << "three failures in a row again";
}

// Probe-level terminationGracePeriodSeconds (KEP-2238) replaces the pod's for a liveness kill.
TEST(PodProbesSim, LivenessKillUsesTheProbesGracePeriod) {
  json c = with_probe(with_hooks(ctr("app"), false, true), "livenessProbe",
                      probe_exec("live", {{"failureThreshold", 1}, {"terminationGracePeriodSeconds", 5}}));
  Sim s(pod(json::array({c}), json::array(), {{"terminationGracePeriodSeconds", 600}}));
  s.prober.answers["live"] = Outcome::Failure;
  s.start();
  EXPECT_NE(s.hooks.running(Purpose::PreStop), 0u) << "the preStop runs before the stop signal";
  s.advance(5s);
  EXPECT_EQ(s.count(EventReason::FailedPreStopHook), 1u);
  EXPECT_EQ(s.when("signal app#1 15"), 5000);
  s.advance(2s);
  EXPECT_EQ(s.when("kill app#1"), 7000) << "the 2 s floor after the stop signal";
}

// The kubelet restarts a probe-killed container under OnFailure whatever its exit code; under
// Never it is killed and stays terminated (no ", will be restarted").
TEST(PodProbesSim, LivenessKillRestartsUnderOnFailureEvenAfterExitZeroButNotUnderNever) {
  {
    Sim s(pod(json::array({with_probe(ctr("app"), "livenessProbe", probe_exec("live", {{"failureThreshold", 1}}))}),
              json::array(), {{"restartPolicy", "OnFailure"}}));
    s.prober.answers["live"] = Outcome::Failure;
    s.start();
    s.exit("app", 1, 0);
    EXPECT_EQ(s.when("start app#2"), 0);
  }
  {
    Sim s(pod(json::array({with_probe(ctr("app"), "livenessProbe", probe_exec("live", {{"failureThreshold", 1}}))}),
              json::array(), {{"restartPolicy", "Never"}}));
    s.prober.answers["live"] = Outcome::Failure;
    s.start();
    EXPECT_EQ(messages(s, EventReason::Killing), std::vector<std::string>{"Container app failed liveness probe"});
    s.exit("app", 1, 143, SIGTERM);
    EXPECT_EQ(s.calls().back(), "remove app#1");
    EXPECT_EQ(s.status()["phase"], "Failed");
    s.advance(60s);
    EXPECT_EQ(s.prober.count("live"), 1u) << "no probes for a container that is gone for good";
  }
}

// "should not be restarted by liveness probe because startup probe delays it": until the startup
// probe passes the container is not started, liveness and readiness do not run; then both probe
// at once.
TEST(PodProbesSim, StartupGatesLivenessAndReadiness) {
  json c = ctr("app");
  c["startupProbe"] = probe_exec("startup", {{"failureThreshold", 60}, {"periodSeconds", 1}});
  c["livenessProbe"] = probe_exec("live", {{"failureThreshold", 1}});
  c["readinessProbe"] = probe_exec("ready");
  Sim s(pod(json::array({c})));
  s.prober.answers["startup"] = Outcome::Failure;
  s.prober.answers["live"] = Outcome::Failure;
  s.start();
  s.advance(30s);
  EXPECT_EQ(s.prober.count("startup"), 31u);
  EXPECT_EQ(s.prober.count("live"), 0u);
  EXPECT_EQ(s.prober.count("ready"), 0u);
  json st = s.status()["containerStatuses"][0];
  EXPECT_FALSE(st["started"]);
  EXPECT_FALSE(st["ready"]);
  s.prober.answers["startup"] = Outcome::Success;
  s.prober.answers["live"] = Outcome::Success;
  s.advance(1s);
  st = s.status()["containerStatuses"][0];
  EXPECT_TRUE(st["started"]);
  EXPECT_TRUE(st["ready"]) << "readiness probed at once after startup";
  EXPECT_EQ(s.prober.times("live", s.t0), std::vector<int64_t>{31000});
  s.advance(60s);
  EXPECT_EQ(s.prober.count("startup"), 32u) << "a started container's startup worker idles";
  EXPECT_EQ(s.count(EventReason::Killing), 0u);
}

// "should be restarted startup probe fails"
TEST(PodProbesSim, StartupFailureKillsAndRestarts) {
  json c = with_probe(ctr("app"), "startupProbe", probe_exec("startup", {{"failureThreshold", 3}}));
  Sim s(pod(json::array({c})));
  s.prober.answers["startup"] = Outcome::Failure;
  s.start();
  s.advance(19s);
  EXPECT_EQ(s.count(EventReason::Killing), 0u);
  s.advance(1s);
  EXPECT_EQ(messages(s, EventReason::Killing),
            std::vector<std::string>{"Container app failed startup probe, will be restarted"});
  s.exit("app", 1, 143, SIGTERM);
  EXPECT_EQ(s.calls().back(), "start app#2");
}

// The probe's timeoutSeconds goes with every attempt; an attempt in flight when the container
// exits is canceled (its processes killed by the context), and nothing probes a stopped container.
TEST(PodProbesSim, AttemptsCarryTheTimeoutAndAreCanceledWhenTheContainerExits) {
  Sim s(pod(json::array({with_probe(ctr("app"), "livenessProbe", probe_exec("live", {{"timeoutSeconds", 7}}))}),
            json::array(), {{"restartPolicy", "Never"}}));
  s.prober.held.insert("live");
  s.start();
  ASSERT_EQ(s.prober.attempts.size(), 1u);
  EXPECT_EQ(s.prober.attempts[0].timeout_ms, 7000);
  s.exit("app", 1, 0);
  EXPECT_EQ(s.prober.canceled, 1);
  s.advance(60s);
  EXPECT_EQ(s.prober.count("live"), 1u);
  EXPECT_EQ(s.status()["phase"], "Succeeded");
}

// During termination liveness stops (no kill for a failure then) and readiness goes on until the
// container is gone.
TEST(PodProbesSim, TerminationEndsLivenessReadinessGoesOnUntilTheExit) {
  json c = with_probe(ctr("app"), "livenessProbe", probe_exec("live", {{"failureThreshold", 1}}));
  c["readinessProbe"] = probe_exec("ready", {{"periodSeconds", 1}});
  Sim s(pod(json::array({c})));
  s.start();
  s.terminate(30000);
  s.prober.answers["live"] = Outcome::Failure;
  s.advance(20s);
  EXPECT_EQ(s.prober.count("live"), 1u) << "liveness ends when the pod terminates";
  EXPECT_EQ(s.count(EventReason::Killing), 1u) << "only the termination's";
  EXPECT_GE(s.prober.count("ready"), 20u);
  s.exit("app", 1, 143, SIGTERM);
  size_t ready = s.prober.count("ready");
  s.advance(20s);
  EXPECT_EQ(s.prober.count("ready"), ready);
  EXPECT_TRUE(s.l->stopped());
}

// A prober error is tried three times, reported once, and counts neither way.
TEST(PodProbesSim, ProberErrorsAreReportedOnceAfterTheRetries) {
  Sim s(pod(json::array({with_probe(ctr("app"), "livenessProbe", probe_exec("live", {{"failureThreshold", 1}}))})));
  s.prober.answers["live"] = Outcome::Error;
  s.start();
  EXPECT_EQ(s.prober.count("live"), 3u);
  EXPECT_EQ(messages(s, EventReason::Unhealthy),
            std::vector<std::string>{"Liveness probe errored and resulted in unknown state: cannot run live"});
  EXPECT_EQ(s.count(EventReason::Killing), 0u);
}

}  // namespace
}  // namespace lifehook::pod
