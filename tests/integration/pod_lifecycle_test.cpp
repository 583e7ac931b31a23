// Pod lifecycles with real processes through the C ABI: init ordering, restarts with backoff,
// restartPolicy, postStart failures, status columns and events.
#include <gtest/gtest.h>

#include <sstream>

#include "unit/pod_test_util.hpp"

using namespace podtest;

namespace {

// Waits until the TCP port on 127.0.0.1 accepts a connection (the "wait for mysql" init container).
std::string wait_for_port(int port) {
  return "until (exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) + ") 2>/dev/null; do sleep 0.05; done";
}

json bash_container(const std::string& name, const std::string& script) {
  return {{"name", name}, {"image", "busybox"}, {"command", {"bash", "-c", script}}};
}

size_t index_of(const std::vector<std::string>& v, const std::string& s) {
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] == s) return i;
  return SIZE_MAX;
}

}  // namespace

// The pod-lifecycle article's example: two init containers wait for mysql and redis (two
// loopback ports the test opens later), then the app starts.
TEST(PodLifecycle, InitContainersRunInOrderUntilTheirPortsOpen) {
  Ctx c;
  Port mysql, redis;
  std::string marker = marker_sleep();
  json app = container("myapp", "exec sleep " + marker);
  app["lifecycle"] = {{"postStart", {{"sleep", {{"seconds", 0.4}}}}}};  // keeps PodInitializing visible
  Pod pod(c.ctx, pod_json("myapp-pod", json::array({app}),
                          json::array({bash_container("init-mysql", wait_for_port(mysql.port)),
                                       bash_container("init-redis", wait_for_port(redis.port))})));
  EXPECT_EQ(pod.status()["display"]["status"], "Init:0/2");
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll([](const json& s) { return s["initContainerStatuses"][0]["state"].contains("running"); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  json s = pod.status();
  EXPECT_EQ(s["display"]["status"], "Init:0/2");
  EXPECT_EQ(s["phase"], "Pending");
  EXPECT_EQ(s["display"]["ready"], "0/1");
  EXPECT_EQ(pod.events.count("Started:init-redis"), 0u) << "init-redis must wait for init-mysql";

  mysql.open();
  ASSERT_TRUE(pod.poll_column("Init:1/2", 5000));
  ASSERT_TRUE(pod.poll([](const json& s) { return s["initContainerStatuses"][1]["state"].contains("running"); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(pod.status()["display"]["status"], "Init:1/2");
  EXPECT_EQ(pod.events.count("Started:myapp"), 0u);

  redis.open();
  ASSERT_TRUE(pod.poll_column("PodInitializing", 5000));
  ASSERT_TRUE(pod.poll_column("Running", 5000));
  s = pod.status();
  EXPECT_EQ(s["phase"], "Running");
  EXPECT_EQ(s["display"]["ready"], "1/1");
  EXPECT_EQ(s["containerStatuses"][0]["ready"], true);
  EXPECT_EQ(s["initContainerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
  EXPECT_EQ(s["podIP"], "127.0.0.1");
  EXPECT_TRUE(s.contains("startTime"));
  EXPECT_EQ(pod.columns, (std::vector<std::string>{"Init:0/2", "Init:1/2", "PodInitializing", "Running"}));

  // Events in the kubelet's order and formats.
  auto r = pod.events.reasons();
  std::vector<std::string> expected = {"Created:init-mysql", "Started:init-mysql", "Created:init-redis",
                                       "Started:init-redis", "Created:myapp",      "Started:myapp"};
  EXPECT_EQ(r, expected);
  auto ev = pod.events.snapshot();
  ASSERT_GE(ev.size(), 2u);
  EXPECT_EQ(ev[0]["message"], "Created container: init-mysql");
  EXPECT_EQ(ev[1]["message"], "Started container init-mysql");
  EXPECT_EQ(ev[0]["type"], "Normal");
  EXPECT_EQ(ev[0]["time"].get<std::string>().size(), std::string("2026-01-01T00:00:00.000Z").size());

  // A watcher added later gets the past events first, in the same order.
  Events late;
  ASSERT_EQ(lifehook_pod_watch(pod.pod, &Events::on_event, &late), LIFEHOOK_OK);
  auto t0 = Clock::now();
  while (late.snapshot().size() < expected.size() && ms_since(t0) < 2000)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(late.reasons(), expected);

  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 5000), LIFEHOOK_OK);
  EXPECT_EQ(pod.events.reasons().back(), "Killing:myapp");
  EXPECT_EQ(count_processes(marker), 0);
}

// Init fails twice, then succeeds: the first restart is immediate, the second waits the
// initial backoff (shortened by options) measured from the exit.
TEST(PodLifecycle, InitContainerRetriesWithBackoff) {
  Ctx c;
  std::string dir = temp_dir();
  std::string marker = marker_sleep();
  std::string script = "date +%s%N >> " + dir + "/starts; n=$(wc -l < " + dir + "/starts); [ $n -ge 3 ]";
  Pod pod(c.ctx,
          pod_json("retry", json::array({container("app", "exec sleep " + marker)}),
                   json::array({container("init", script)})),
          json{{"backoffInitialMs", 1500}, {"backoffMaxMs", 5000}});
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll([](const json& s) {
    const json& st = s["initContainerStatuses"][0]["state"];
    return st.contains("waiting") && st["waiting"]["reason"] == "CrashLoopBackOff";
  })) << pod.status().dump()
      << "\nstarts:\n"
      << read_file(dir + "/starts");
  json s = pod.status();
  EXPECT_EQ(s["display"]["status"], "Init:CrashLoopBackOff");
  EXPECT_EQ(s["initContainerStatuses"][0]["restartCount"], 1);
  EXPECT_EQ(s["initContainerStatuses"][0]["lastState"]["terminated"]["exitCode"], 1);
  EXPECT_EQ(s["initContainerStatuses"][0]["lastState"]["terminated"]["reason"], "Error");
  EXPECT_NE(s["initContainerStatuses"][0]["state"]["waiting"]["message"].get<std::string>().find("back-off 1.5s"),
            std::string::npos)
      << s;
  ASSERT_TRUE(pod.poll_column("Running", 5000));
  s = pod.status();
  EXPECT_EQ(s["initContainerStatuses"][0]["restartCount"], 2);
  EXPECT_EQ(s["display"]["restarts"], "0") << "after init, RESTARTS counts the main containers";

  std::vector<int64_t> starts;
  std::istringstream in(read_file(dir + "/starts"));
  for (int64_t ns; in >> ns;) starts.push_back(ns);
  ASSERT_EQ(starts.size(), 3u);
  double gap1 = (starts[1] - starts[0]) / 1e6, gap2 = (starts[2] - starts[1]) / 1e6;
  std::printf("init restart gaps: %.0f ms (immediate), %.0f ms (backoff 1500 ms)\n", gap1, gap2);
  EXPECT_LT(gap1, 1000);  // immediate, generous for a loaded machine: far below the backoff
  EXPECT_GE(gap2, 1490);
  EXPECT_LT(gap2, 2600);
  EXPECT_EQ(pod.events.count("BackOff:init"), 1u);
  auto ev = pod.events.snapshot();
  for (const auto& e : ev)
    if (e["reason"] == "BackOff") {
      EXPECT_EQ(e["type"], "Warning");
      EXPECT_EQ(
          e["message"].get<std::string>().rfind("Back-off restarting failed container init in pod retry_default(", 0),
          0u)
          << e;
    }
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 0), LIFEHOOK_OK);
  EXPECT_EQ(count_processes(marker), 0);
  std::system(("rm -rf " + dir).c_str());
}

TEST(PodLifecycle, RestartPolicyNeverFailsThePodOnInitFailure) {
  Ctx c;
  Pod pod(c.ctx, pod_json("never", json::array({container("app", "sleep 5")}),
                          json::array({container("init", "exit 3")}), {{"restartPolicy", "Never"}}));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_EQ(lifehook_pod_wait(pod.pod, 10000), LIFEHOOK_OK);
  json s = pod.status();
  EXPECT_EQ(s["phase"], "Failed");
  EXPECT_EQ(s["display"]["status"], "Init:Error");
  EXPECT_EQ(s["initContainerStatuses"][0]["state"]["terminated"]["exitCode"], 3);
  EXPECT_EQ(s["initContainerStatuses"][0]["restartCount"], 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(pod.events.count("Started:app"), 0u) << "the main container never starts";
  EXPECT_TRUE(pod.status()["containerStatuses"][0]["state"].contains("waiting"));
}

TEST(PodLifecycle, ExitCodesSignalsAndRestartPolicies) {
  Ctx c;
  {
    // "$$" is Kubernetes' escape for "$" in command expansion, so the shell's $$ is written "$$$$".
    Pod pod(c.ctx, pod_json("ok", json::array({container("b", "kill -s USR1 $$$$"), container("a", "exit 0")}),
                            json::array(), {{"restartPolicy", "Never"}}));
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_EQ(lifehook_pod_wait(pod.pod, 10000), LIFEHOOK_OK);
    json s = pod.status();
    EXPECT_EQ(s["phase"], "Failed");
    EXPECT_EQ(s["containerStatuses"][1]["state"]["terminated"]["exitCode"], 0);
    EXPECT_EQ(s["containerStatuses"][1]["state"]["terminated"]["reason"], "Completed");
    EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["signal"], 10);
    EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["exitCode"], 138);
    EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["reason"], "Error");
    EXPECT_EQ(s["display"]["status"], "Error") << "kubectl: the first container with a reason wins";
    EXPECT_EQ(lifehook_pod_container_exited(pod.pod, "nope", 0, 0), LIFEHOOK_E_NOT_FOUND);
    EXPECT_EQ(lifehook_pod_container_exited(pod.pod, "a", 0, 0), LIFEHOOK_E_STATE)
        << "the process driver reports exits";
  }
  {
    Pod pod(c.ctx,
            pod_json("done", json::array({container("a", "exit 0")}), json::array(), {{"restartPolicy", "OnFailure"}}));
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_EQ(lifehook_pod_wait(pod.pod, 10000), LIFEHOOK_OK);
    json s = pod.status();
    EXPECT_EQ(s["phase"], "Succeeded");
    EXPECT_EQ(s["display"]["status"], "Completed");
  }
  {
    // Always: an exit 0 is restarted too; the second crash waits for the backoff.
    Pod pod(c.ctx, pod_json("always", json::array({container("a", "exit 0")})), json{{"backoffInitialMs", 60000}});
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(pod.poll_column("CrashLoopBackOff", 5000));
    json s = pod.status();
    EXPECT_EQ(s["containerStatuses"][0]["restartCount"], 1);
    EXPECT_EQ(s["phase"], "Running");
    EXPECT_EQ(s["display"]["restarts"].get<std::string>().rfind("1 (", 0), 0u) << s["display"];
    EXPECT_EQ(lifehook_pod_wait(pod.pod, 100), LIFEHOOK_E_STATE);
    ASSERT_EQ(lifehook_pod_terminate(pod.pod, -1), LIFEHOOK_OK) << "nothing is running: returns at once";
    EXPECT_EQ(pod.status()["containerStatuses"][0]["restartCount"], 1) << "nothing restarts after terminate";
  }
}

// postStart fails: FailedPostStartHook, the container is killed (its preStop runs), waits with
// PostStartHookError and restarts per restartPolicy with backoff.
TEST(PodLifecycle, PostStartFailureKillsAndRestarts) {
  Ctx c;
  std::string dir = temp_dir();
  std::string marker = marker_sleep();
  json app = container("app", "exec sleep " + marker);
  app["lifecycle"] = {{"postStart", {{"exec", {{"command", {"sh", "-c", "echo nope >&2; exit 7"}}}}}},
                      {"preStop", {{"exec", {{"command", {"sh", "-c", "echo stop >> " + dir + "/prestop"}}}}}}};
  Pod pod(c.ctx, pod_json("hooked", json::array({app})), json{{"backoffInitialMs", 60000}});
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  // First failure restarts at once, the second waits for the backoff.
  ASSERT_TRUE(pod.poll([](const json& s) {
    return s["containerStatuses"][0]["restartCount"] == 1 && s["containerStatuses"][0]["state"].contains("waiting") &&
           s["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff";
  }));
  json s = pod.status();
  EXPECT_FALSE(s["containerStatuses"][0]["ready"]);
  EXPECT_TRUE(s["containerStatuses"][0]["lastState"].contains("terminated"));
  EXPECT_EQ(pod.events.count("FailedPostStartHook:app"), 2u);
  EXPECT_EQ(pod.events.count("Killing:app"), 2u);
  for (const auto& e : pod.events.snapshot()) {
    if (e["reason"] == "Killing") {
      EXPECT_EQ(e["message"], "FailedPostStartHook");
    }
  }
  auto r = pod.events.reasons();
  EXPECT_LT(index_of(r, "Started:app"), index_of(r, "FailedPostStartHook:app"));
  EXPECT_LT(index_of(r, "FailedPostStartHook:app"), index_of(r, "Killing:app"));
  EXPECT_EQ(read_file(dir + "/prestop"), "stop\nstop\n") << "preStop runs when postStart failed";
  EXPECT_EQ(count_processes(marker), 0);
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 0), LIFEHOOK_OK);
  std::system(("rm -rf " + dir).c_str());
}

TEST(PodLifecycle, PostStartFailureShowsPostStartHookError) {
  Ctx c;
  json app = container("app", "sleep 30");
  app["lifecycle"] = {{"postStart", {{"exec", {{"command", {"sh", "-c", "exit 9"}}}}}}};
  Pod pod(c.ctx, pod_json("hookerr", json::array({app}), json::array(), {{"restartPolicy", "Never"}}));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_EQ(lifehook_pod_wait(pod.pod, 10000), LIFEHOOK_OK);
  json s = pod.status();
  EXPECT_EQ(s["phase"], "Failed");
  EXPECT_EQ(s["containerStatuses"][0]["state"]["waiting"]["reason"], "PostStartHookError");
  std::string msg = s["containerStatuses"][0]["state"]["waiting"]["message"];
  EXPECT_NE(msg.find("Exec lifecycle hook ([sh -c exit 9]) for Container \"app\" in Pod \"hookerr_default("),
            std::string::npos)
      << msg;
  EXPECT_EQ(s["display"]["status"], "PostStartHookError");
}

// A container is not Running (nor ready) before its postStart completed, and the next
// container starts only after it.
TEST(PodLifecycle, PostStartBlocksReadinessAndTheNextContainer) {
  Ctx c;
  std::string m1 = marker_sleep(), m2 = marker_sleep();
  json proxy = container("proxy", "exec sleep " + m1);
  proxy["lifecycle"] = {{"postStart", {{"sleep", {{"seconds", 0.5}}}}}};
  Pod pod(c.ctx, pod_json("seq", json::array({proxy, container("app", "exec sleep " + m2)})));
  auto t0 = Clock::now();
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll([](const json&) { return true; }));
  ASSERT_TRUE(pod.poll([&](const json& s) { return ms_since(t0) > 250 || s["display"]["ready"] != "0/2"; }));
  json s = pod.status();
  if (ms_since(t0) < 450) {
    EXPECT_TRUE(s["containerStatuses"][0]["state"].contains("waiting")) << s;
    EXPECT_EQ(s["display"]["ready"], "0/2");
    EXPECT_EQ(pod.events.count("Started:app"), 0u);
  }
  ASSERT_TRUE(pod.poll([](const json& s) { return s["display"]["ready"] == "2/2"; }));
  EXPECT_GE(ms_since(t0), 450);
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 2000), LIFEHOOK_OK);
  EXPECT_EQ(count_processes(m1) + count_processes(m2), 0);
}
