// Probes in pods with real processes and real servers on 127.0.0.1, through the C ABI (process
// driver): Kubernetes' container-probe conformance scenarios on one node — liveness by exec
// `cat health` restarting the container, readiness by tcpSocket following a port, and exec probe
// timeouts enforced (the probe's process is killed). The exact rules are in
// tests/engine/pod_probes_sim_test.cpp (simulated time); these check the real wiring.
#include <gtest/gtest.h>

#include "unit/pod_test_util.hpp"

using namespace podtest;

namespace {

std::vector<std::string> messages(Pod& pod, const std::string& reason) {
  std::vector<std::string> out;
  for (const auto& e : pod.events.snapshot())
    if (e["reason"] == reason) out.push_back(e["message"]);
  return out;
}

}  // namespace

// "should be restarted with an exec "cat /tmp/health" liveness probe"
TEST(PodProbes, LivenessExecRestartsTheContainerWhenHealthGoes) {
  Ctx c;
  std::string dir = temp_dir();
  std::string marker = marker_sleep();
  json app = container("app", "touch " + dir + "/health; sleep 2; rm " + dir + "/health; exec sleep " + marker);
  app["livenessProbe"] = {{"exec", {{"command", {"cat", dir + "/health"}}}},
                          {"initialDelaySeconds", 1},
                          {"periodSeconds", 1},
                          {"failureThreshold", 1}};
  Pod pod(c.ctx, pod_json("liveness-exec", json::array({app})), json{{"backoffInitialMs", 60000}});
  auto t0 = Clock::now();
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll([](const json& s) { return s["containerStatuses"][0]["restartCount"] == 1; }, 20000))
      << pod.status().dump();
  EXPECT_GE(ms_since(t0), 2000) << "healthy while the file exists";
  auto unhealthy = messages(pod, "Unhealthy");
  ASSERT_FALSE(unhealthy.empty());
  EXPECT_EQ(unhealthy[0].rfind("Liveness probe failed: cat: ", 0), 0u) << unhealthy[0];
  auto killing = messages(pod, "Killing");
  ASSERT_FALSE(killing.empty());
  EXPECT_EQ(killing[0], "Container app failed liveness probe, will be restarted");
  json last = pod.status()["containerStatuses"][0]["lastState"]["terminated"];
  EXPECT_EQ(last["exitCode"], 143) << "stopped with SIGTERM, as the kubelet does";
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 0), LIFEHOOK_OK);
  EXPECT_EQ(count_processes(marker), 0);
  std::system(("rm -rf " + dir).c_str());
}

// Readiness by tcpSocket follows the port: not ready while closed, ready once it accepts, not
// ready again when it closes; never restarted.
TEST(PodProbes, ReadinessTcpSocketFollowsThePort) {
  Ctx c;
  Port port;
  json app = container("app", "exec sleep " + marker_sleep());
  app["readinessProbe"] = {
      {"tcpSocket", {{"port", port.port}, {"host", "127.0.0.1"}}}, {"periodSeconds", 1}, {"failureThreshold", 1}};
  Pod pod(c.ctx, pod_json("readiness-tcp", json::array({app})));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll_column("Running"));
  ASSERT_TRUE(pod.poll([&](const json&) { return !messages(pod, "Unhealthy").empty(); }, 10000));
  json s = pod.status();
  EXPECT_FALSE(s["containerStatuses"][0]["ready"]);
  EXPECT_EQ(s["display"]["ready"], "0/1");
  port.open();
  ASSERT_TRUE(pod.poll([](const json& s) { return s["display"]["ready"] == "1/1"; }, 10000)) << pod.status().dump();
  EXPECT_FALSE(messages(pod, "ProbeRecovered").empty());
  ::close(port.fd);
  port.fd = -1;
  ASSERT_TRUE(pod.poll([](const json& s) { return s["display"]["ready"] == "0/1"; }, 10000)) << pod.status().dump();
  EXPECT_EQ(pod.status()["containerStatuses"][0]["restartCount"], 0);
  EXPECT_TRUE(messages(pod, "Killing").empty());
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 0), LIFEHOOK_OK);
}

// An exec probe that outlives timeoutSeconds fails ("timed out"), and its process is killed:
// probes never pile up.
TEST(PodProbes, ExecProbeTimeoutKillsTheProbe) {
  Ctx c;
  std::string probe_marker = marker_sleep();
  json app = container("app", "exec sleep " + marker_sleep());
  app["readinessProbe"] = {
      {"exec", {{"command", {"sleep", probe_marker}}}}, {"periodSeconds", 1}, {"timeoutSeconds", 1}};
  Pod pod(c.ctx, pod_json("probe-timeout", json::array({app})));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll([&](const json&) { return messages(pod, "Unhealthy").size() >= 2; }, 15000));
  EXPECT_LE(count_processes(probe_marker), 1) << "one attempt at a time, each killed at its timeout";
  std::string m = messages(pod, "Unhealthy")[0];
  EXPECT_EQ(m.rfind("Readiness probe failed: ", 0), 0u) << m;
  EXPECT_NE(m.find("timed out"), std::string::npos) << m;
  EXPECT_FALSE(pod.status()["containerStatuses"][0]["ready"]);
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 0), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll([&](const json&) { return count_processes(probe_marker) == 0; }, 5000));
}
