// Sidecars (restartable init containers) in simulated time: Kubernetes' sidecar scenarios
// (test/e2e_node/container_lifecycle_test.go) on the engine — start order (a sidecar is done for
// the init sequence once started, its startup probe included), restarts whatever the policy,
// sidecars stopped once the main containers are done (restartPolicy Never/OnFailure) without
// deciding the phase, reverse-order termination after the main containers with preStop hooks
// (kubernetes#120620), and kubectl's columns for sidecar pods.
#include "engine_sim.hpp"

namespace lifehook::pod {
namespace {

using namespace sim;

json sidecar(const std::string& name) {
  json c = ctr(name);
  c["restartPolicy"] = "Always";
  return c;
}

json init_ctr(const std::string& name) { return ctr(name); }

size_t index_of(const std::vector<std::string>& v, const std::string& s) {
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] == s) return i;
  return SIZE_MAX;
}

// "should launch init container serially before a regular container", with a sidecar in between.
TEST(PodSidecarsSim, StartOrderASidecarIsDoneOnceStarted) {
  Sim s(pod(json::array({ctr("main")}), json::array({init_ctr("init1"), sidecar("proxy"), init_ctr("init2")})));
  s.start();
  EXPECT_EQ(s.calls(), std::vector<std::string>{"start init1#1"});
  EXPECT_EQ(s.column(), "Init:0/3");
  s.exit("init1", 1, 0);
  EXPECT_EQ(s.calls().back(), "start init2#1") << "proxy started and runs on beside init2";
  EXPECT_NE(index_of(s.calls(), "start proxy#1"), SIZE_MAX);
  EXPECT_EQ(s.column(), "Init:2/3");
  s.exit("init2", 1, 0);
  EXPECT_EQ(s.calls().back(), "start main#1");
  json st = s.status();
  EXPECT_EQ(st["display"]["status"], "Running");
  EXPECT_EQ(st["display"]["ready"], "2/2") << "the sidecar counts in READY";
  EXPECT_EQ(st["phase"], "Running");
}

// A sidecar's startup probe holds the init containers after it; it exits before it started: it is
// retried (with backoff) before init2 runs.
TEST(PodSidecarsSim, StartupProbeGatesTheNextInitContainerAndARestartComesFirst) {
  json proxy = sidecar("proxy");
  proxy["startupProbe"] = {{"exec", {{"command", {"startup"}}}}, {"periodSeconds", 1}, {"failureThreshold", 100}};
  Sim s(pod(json::array({ctr("main")}), json::array({proxy, init_ctr("init2")})),
        BackoffOptions{10000ms, 300000ms, 600000ms});
  s.prober.answers["startup"] = Outcome::Failure;
  s.start();
  s.advance(5s);
  EXPECT_EQ(s.calls(), std::vector<std::string>{"start proxy#1"}) << "init2 waits for proxy's startup probe";
  s.exit("proxy", 1, 1);
  EXPECT_EQ(s.calls().back(), "start proxy#2") << "first restart at once";
  s.exit("proxy", 2, 1);
  EXPECT_EQ(s.status()["initContainerStatuses"][0]["state"]["waiting"]["reason"], "CrashLoopBackOff");
  EXPECT_EQ(s.column(), "Init:CrashLoopBackOff");
  s.advance(10s);
  EXPECT_EQ(s.calls().back(), "start proxy#3");
  s.prober.answers["startup"] = Outcome::Success;
  s.advance(1s);
  EXPECT_EQ(s.calls().back(), "start init2#1");
  EXPECT_EQ(s.status()["initContainerStatuses"][0]["restartCount"], 2);
}

// A sidecar restarts whenever it exits, also under restartPolicy Never, and its restarts count.
TEST(PodSidecarsSim, ASidecarRestartsWhateverThePolicyAndCountsInRestarts) {
  Sim s(pod(json::array({ctr("main")}), json::array({sidecar("proxy")}), {{"restartPolicy", "Never"}}));
  s.start();
  EXPECT_EQ(s.calls().back(), "start main#1");
  s.exit("proxy", 1, 1);
  EXPECT_EQ(s.calls().back(), "start proxy#2");
  json st = s.status();
  EXPECT_EQ(st["phase"], "Running") << "a sidecar's exit code never fails the pod";
  EXPECT_EQ(st["display"]["restarts"].get<std::string>().substr(0, 1), "1");
  EXPECT_EQ(st["display"]["status"], "Running");
  EXPECT_TRUE(std::any_of(st["conditions"].begin(), st["conditions"].end(), [](const json& c) {
    return c["type"] == "Initialized" && c["status"] == "True";
  })) << st["conditions"].dump();
}

// "should terminate sidecars when the main containers have finished": restartPolicy Never, main
// exits 0, the sidecar is stopped (its exit code 143 notwithstanding the pod Succeeded).
TEST(PodSidecarsSim, SidecarsGoOnceTheMainContainersAreDone) {
  Sim s(pod(json::array({ctr("main")}), json::array({sidecar("proxy")}), {{"restartPolicy", "Never"}}));
  s.start();
  s.exit("main", 1, 0);
  EXPECT_EQ(s.calls().back(), "signal proxy#1 15");
  EXPECT_EQ(s.status()["phase"], "Running") << "until the sidecar is gone";
  s.exit("proxy", 1, 143, SIGTERM);
  EXPECT_EQ(s.calls().back(), "remove proxy#1") << "not restarted";
  EXPECT_EQ(s.status()["phase"], "Succeeded");
  EXPECT_TRUE(s.l->terminal());
  EXPECT_EQ(s.column(), "Completed");
}

// "should terminate sidecars in reverse order after all main containers have exited", with their
// preStop hooks, all within the one pod deadline.
TEST(PodSidecarsSim, TerminationStopsMainsThenSidecarsInReverseOrder) {
  Sim s(pod(json::array({with_hooks(ctr("main"), false, true)}),
            json::array({with_hooks(sidecar("s1"), false, true), with_hooks(sidecar("s2"), false, true)})));
  s.start();
  s.terminate(30000);
  EXPECT_NE(s.hooks.running(Purpose::PreStop), 0u);
  s.finish_hook(Purpose::PreStop, Outcome::Success);  // main's
  EXPECT_EQ(s.calls().back(), "signal main#1 15");
  EXPECT_EQ(index_of(s.calls(), "signal s1#1 15"), SIZE_MAX);
  EXPECT_EQ(index_of(s.calls(), "signal s2#1 15"), SIZE_MAX) << "sidecars wait for the main containers";
  s.advance(1s);
  s.exit("main", 1, 143, SIGTERM);
  ASSERT_NE(s.hooks.running(Purpose::PreStop), 0u) << "s2's preStop, the last declared first";
  s.finish_hook(Purpose::PreStop, Outcome::Success);
  EXPECT_EQ(s.calls().back(), "signal s2#1 15");
  EXPECT_EQ(index_of(s.calls(), "signal s1#1 15"), SIZE_MAX);
  s.exit("s2", 1, 143, SIGTERM);
  s.finish_hook(Purpose::PreStop, Outcome::Success);
  EXPECT_EQ(s.calls().back(), "signal s1#1 15");
  s.exit("s1", 1, 143, SIGTERM);
  EXPECT_TRUE(s.l->stopped());
  std::vector<std::string> killing;
  for (const auto& e : s.events)
    if (e.reason == "Killing") killing.push_back(e.container);
  EXPECT_EQ(killing, (std::vector<std::string>{"main", "s2", "s1"}));
}

// A main container that holds out until the deadline: it is SIGKILLed there, and the sidecars,
// whose turn comes after the deadline, are killed at once.
TEST(PodSidecarsSim, AfterTheDeadlineTheSidecarsAreKilledAtOnce) {
  Sim s(pod(json::array({ctr("main")}), json::array({sidecar("proxy")})));
  s.start();
  s.terminate(5000);
  s.advance(5s);
  EXPECT_EQ(s.when("kill main#1"), 5000);
  s.exit("main", 1, 137, SIGKILL);
  EXPECT_EQ(s.calls().back(), "kill proxy#1");
  EXPECT_EQ(s.when("kill proxy#1"), 5000);
  s.exit("proxy", 1, 137, SIGKILL);
  EXPECT_TRUE(s.l->stopped());
}

// A sidecar's failed liveness probe restarts it (never the pod's policy), in the kubelet's words.
TEST(PodSidecarsSim, LivenessRestartsASidecar) {
  json proxy = sidecar("proxy");
  proxy["livenessProbe"] = {{"exec", {{"command", {"live"}}}}, {"failureThreshold", 1}};
  Sim s(pod(json::array({ctr("main")}), json::array({proxy}), {{"restartPolicy", "Never"}}));
  s.prober.answers["live"] = Outcome::Failure;
  s.start();
  bool found = false;
  for (const auto& e : s.events)
    found |= e.reason == "Killing" && e.message == "Init container proxy failed liveness probe";
  EXPECT_TRUE(found);
  s.exit("proxy", 1, 143, SIGTERM);
  EXPECT_NE(index_of(s.calls(), "start proxy#2"), SIZE_MAX);
}

}  // namespace
}  // namespace lifehook::pod
