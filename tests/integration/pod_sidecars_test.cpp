// Sidecars with real processes through the C ABI (process driver): Kubernetes' sidecar scenarios
// on one node — a sidecar starts before the containers after it and outlives the main container
// until that finishes; on termination the main container stops first, then the sidecars in
// reverse order, each with its preStop. The exact rules are in tests/engine/pod_sidecars_sim_test.cpp.
#include <gtest/gtest.h>

#include "unit/pod_test_util.hpp"

using namespace podtest;

namespace {

json sidecar(const std::string& name, const std::string& script) {
  json c = container(name, script);
  c["restartPolicy"] = "Always";
  return c;
}

json logging_pre_stop(json c, const std::string& log) {
  c["lifecycle"]["preStop"] = {
      {"exec", {{"command", {"sh", "-c", "echo " + c["name"].get<std::string>() + " >> " + log}}}}};
  return c;
}

}  // namespace

// restartPolicy Never: the main container runs to completion beside the sidecar, then the sidecar
// is stopped, and the pod Succeeded (the sidecar's SIGTERM exit does not fail it).
TEST(PodSidecars, TheSidecarOutlivesTheMainContainerUntilItFinishes) {
  Ctx c;
  std::string dir = temp_dir();
  std::string marker = marker_sleep();
  json proxy = sidecar("proxy", "touch " + dir + "/proxy-up; exec sleep " + marker);
  // The main container starts once the sidecar has started: here, once its file is there.
  proxy["startupProbe"] = {{"exec", {{"command", {"test", "-e", dir + "/proxy-up"}}}}, {"periodSeconds", 1}};
  json main = container("main", "test -e " + dir + "/proxy-up || exit 3; sleep 0.3");
  Pod pod(c.ctx, pod_json("sidecar-done", json::array({main}), json::array({proxy}), {{"restartPolicy", "Never"}}));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_EQ(lifehook_pod_wait(pod.pod, 15000), LIFEHOOK_OK);
  json s = pod.status();
  EXPECT_EQ(s["phase"], "Succeeded") << s.dump();
  EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["exitCode"], 0) << "main saw the sidecar up";
  EXPECT_EQ(s["initContainerStatuses"][0]["state"]["terminated"]["exitCode"], 143);
  EXPECT_EQ(s["display"]["status"], "Completed");
  EXPECT_EQ(count_processes(marker), 0);
  std::system(("rm -rf " + dir).c_str());
}

// Termination: main first (its preStop, then SIGTERM), then the sidecars in reverse declaration
// order, each preStop after the later-declared sidecar exited.
TEST(PodSidecars, TerminationStopsTheMainContainerThenSidecarsInReverseOrder) {
  Ctx c;
  std::string dir = temp_dir();
  std::string log = dir + "/order";
  std::string marker = marker_sleep();
  json s1 = logging_pre_stop(sidecar("s1", "exec sleep " + marker), log);
  json s2 = logging_pre_stop(sidecar("s2", "exec sleep " + marker), log);
  json main = logging_pre_stop(container("main", "exec sleep " + marker), log);
  Pod pod(c.ctx, pod_json("sidecar-order", json::array({main}), json::array({s1, s2})));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll([](const json& s) { return s["display"]["ready"] == "3/3"; })) << pod.status().dump();
  EXPECT_EQ(pod.status()["display"]["status"], "Running");
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 20000), LIFEHOOK_OK);
  EXPECT_EQ(read_file(log), "main\ns2\ns1\n");
  std::vector<std::string> killing;
  for (const auto& e : pod.events.snapshot())
    if (e["reason"] == "Killing") killing.push_back(e["container"]);
  EXPECT_EQ(killing, (std::vector<std::string>{"main", "s2", "s1"}));
  EXPECT_EQ(count_processes(marker), 0);
  std::system(("rm -rf " + dir).c_str());
}
