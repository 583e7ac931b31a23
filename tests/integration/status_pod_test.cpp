// The status and events of real pods (real processes, a real HTTP server on 127.0.0.1) through
// the C ABI: init readiness and condition messages over a pod's life, activeDeadlineSeconds, the
// LifecycleHTTPFallback event, hook failure wording, aggregated events.
#include <gtest/gtest.h>

#include "unit/http_test_server.hpp"
#include "unit/pod_test_util.hpp"
#include "unit/status_test_util.hpp"

using namespace podtest;
using lifehook::test::RecordedRequest;
using lifehook::test::ScriptedResponse;
using lifehook::test::TestHttpServer;
using statustest::cond;

TEST(StatusPod, InitContainersReadyAndConditionsOverALife) {
  Ctx c;
  std::string dir = temp_dir();
  json spec = pod_json("life", json::array({container("web", "sleep 30")}),
                       json::array({container("init1", "while [ ! -e " + dir + "/go ]; do sleep 0.02; done"),
                                    container("init2", "true")}));
  Pod p(c.ctx, spec);
  ASSERT_EQ(lifehook_pod_start(p.pod), LIFEHOOK_OK);
  ASSERT_TRUE(p.poll([](const json& s) { return s["initContainerStatuses"][0]["state"].contains("running"); }));
  json s = p.status();
  EXPECT_EQ(cond(s, "Initialized")["message"], "containers with incomplete status: [init1 init2]") << s.dump(1);
  EXPECT_EQ(cond(s, "Ready")["message"], "containers with unready status: [web]");
  EXPECT_EQ(cond(s, "PodReadyToStartContainers")["status"], "True");
  std::string initialized_false_since = cond(s, "Initialized")["lastTransitionTime"];
  std::ofstream(dir + "/go").put('x');
  ASSERT_TRUE(p.poll([](const json& s) { return s["display"]["status"] == "Running"; })) << p.status().dump(1);
  s = p.status();
  EXPECT_EQ(s["initContainerStatuses"][0]["ready"], true);
  EXPECT_EQ(s["initContainerStatuses"][1]["ready"], true);
  EXPECT_EQ(cond(s, "Initialized")["status"], "True");
  EXPECT_EQ(cond(s, "Ready")["status"], "True");
  // Initialized became True after init2 finished, and not before the False was first seen.
  EXPECT_GE(cond(s, "Initialized")["lastTransitionTime"].get<std::string>(),
            s["initContainerStatuses"][1]["state"]["terminated"]["finishedAt"].get<std::string>());
  EXPECT_GE(cond(s, "Initialized")["lastTransitionTime"].get<std::string>(), initialized_false_since);
  EXPECT_EQ(s["qosClass"], "BestEffort");
  EXPECT_EQ(s["hostIP"], "127.0.0.1");
  lifehook_pod_terminate(p.pod, 0);
}

TEST(StatusPod, ActiveDeadlineFailsThePodAndStopsItsContainers) {
  Ctx c;
  std::string marker = marker_sleep();
  json spec = pod_json("deadline", json::array({container("web", "exec sleep " + marker)}), json::array(),
                       {{"activeDeadlineSeconds", 1}, {"terminationGracePeriodSeconds", 5}});
  Pod p(c.ctx, spec);
  ASSERT_EQ(lifehook_pod_start(p.pod), LIFEHOOK_OK);
  auto t0 = Clock::now();
  ASSERT_EQ(lifehook_pod_wait(p.pod, 15000), LIFEHOOK_OK);
  EXPECT_GE(ms_since(t0), 900);
  json s = p.status();
  EXPECT_EQ(s["phase"], "Failed") << s.dump(1);
  EXPECT_EQ(s["reason"], "DeadlineExceeded");
  EXPECT_EQ(s["message"], "Pod was active on the node longer than the specified deadline");
  EXPECT_FALSE(s.contains("deletionTimestamp"));
  EXPECT_TRUE(s["containerStatuses"][0]["state"].contains("terminated")) << s.dump(1);
  EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["signal"], 15);  // SIGTERM, with grace
  EXPECT_EQ(count_processes(marker), 0);
  EXPECT_EQ(p.events.count("DeadlineExceeded:"), 1u);
  EXPECT_EQ(p.events.count("Killing:web"), 1u);
  EXPECT_FALSE(s["warnings"].dump().find("activeDeadlineSeconds") != std::string::npos);
}

TEST(StatusPod, HttpsHookAnsweredInPlainHttpIsALifecycleHTTPFallbackWarning) {
  Ctx c;
  TestHttpServer server([](const RecordedRequest&) { return ScriptedResponse{}; });
  json spec = pod_json("fallback", json::array({container("web", "sleep 30")}));
  spec["spec"]["containers"][0]["lifecycle"] = {
      {"postStart", {{"httpGet", {{"host", "127.0.0.1"}, {"port", server.port()}, {"scheme", "HTTPS"}}}}}};
  Pod p(c.ctx, spec);
  ASSERT_EQ(lifehook_pod_start(p.pod), LIFEHOOK_OK);
  ASSERT_TRUE(p.poll_column("Running"));
  ASSERT_TRUE(p.poll([&](const json&) { return p.events.count("LifecycleHTTPFallback:") == 1; }));
  for (const auto& e : p.events.snapshot())
    if (e["reason"] == "LifecycleHTTPFallback") {
      EXPECT_EQ(e["type"], "Warning");
      EXPECT_EQ(e["message"], "request to HTTPS lifecycle hook 127.0.0.1:" + std::to_string(server.port()) +
                                  " got HTTP response, retry with HTTP succeeded");
    }
  lifehook_pod_terminate(p.pod, 0);
}

TEST(StatusPod, PostStartFailureWordedAsTheKubeletDoes) {
  Ctx c;
  Port closed;  // nothing listens
  json spec =
      pod_json("hookfail", json::array({container("web", "sleep 30")}), json::array(), {{"restartPolicy", "Never"}});
  spec["metadata"]["uid"] = "u-1";
  spec["spec"]["containers"][0]["lifecycle"] = {
      {"postStart", {{"httpGet", {{"host", "127.0.0.1"}, {"port", closed.port}, {"path", "bar"}}}}}};
  Pod p(c.ctx, spec);
  ASSERT_EQ(lifehook_pod_start(p.pod), LIFEHOOK_OK);
  ASSERT_TRUE(p.poll([](const json& s) {
    return s["containerStatuses"][0]["state"].value("waiting", json::object()).value("reason", "") ==
           "PostStartHookError";
  })) << p.status().dump(1);
  std::string message = p.status()["containerStatuses"][0]["state"]["waiting"]["message"];
  EXPECT_EQ(message.rfind("HTTP lifecycle hook (bar) for Container \"web\" in Pod \"hookfail_default(u-1)\" failed - "
                          "error: ",
                          0),
            0u)
      << message;
  lifehook_pod_terminate(p.pod, 0);
}

TEST(StatusPod, RepeatedEventsCarryTheirSeriesCount) {
  Ctx c;
  json spec = pod_json("crash", json::array({container("c", "exit 1")}), json::array(), {{"restartPolicy", "Always"}});
  Pod p(c.ctx, spec, {{"backoffInitialMs", 50}, {"backoffMaxMs", 100}});
  ASSERT_EQ(lifehook_pod_start(p.pod), LIFEHOOK_OK);
  ASSERT_TRUE(p.poll([&](const json&) { return p.events.count("Started:c") >= 4; }));
  lifehook_pod_terminate(p.pod, 0);
  int expected = 0;
  std::string first;
  for (const auto& e : p.events.snapshot()) {
    if (e["reason"] != "Started") continue;
    EXPECT_EQ(e["count"], ++expected) << e;
    if (first.empty()) first = e["firstTimestamp"];
    EXPECT_EQ(e["firstTimestamp"], first);
    EXPECT_EQ(e["lastTimestamp"], e["time"]);
    EXPECT_GE(e["lastTimestamp"].get<std::string>(), first);
  }
  EXPECT_GE(expected, 4);
}
