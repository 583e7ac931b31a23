// Termination timing with real processes: preStop blocks the stop signal, one monotonic
// deadline, SIGKILL at the deadline but never sooner than 2 s after the stop signal, grace 0,
// a second terminate that shortens the grace, and nothing left behind.
#include <gtest/gtest.h>

#include <sstream>

#include "unit/pod_test_util.hpp"

using namespace podtest;

namespace {

// A container that records when it got SIGTERM (ns since the epoch) and keeps running.
json term_recorder(const std::string& name, const std::string& file, const std::string& marker) {
  return container(name, "trap 'date +%s%N > " + file + "' TERM; while :; do sleep 0.02; done; : " + marker);
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t read_ns(const std::string& path) {
  std::istringstream in(read_file(path));
  int64_t v = 0;
  in >> v;
  return v;
}

}  // namespace

// preStop outlasts the grace: the hook is killed at the deadline, the stop signal goes out then,
// and SIGKILL follows 2 s later (the kubelet's one-off extension) — never 2x the grace (K11).
TEST(PodTerminate, PreStopLongerThanGraceGetsSignalAtDeadlineAndKill2sLater) {
  Ctx c;
  std::string dir = temp_dir();
  std::string marker = marker_sleep(), hook_marker = marker_sleep();
  json app = term_recorder("app", dir + "/term", marker);
  app["lifecycle"] = {{"preStop", {{"exec", {{"command", {"sleep", hook_marker}}}}}}};
  Pod pod(c.ctx, pod_json("grace", json::array({app}), json::array(), {{"terminationGracePeriodSeconds", 2}}));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll_column("Running"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the trap is installed
  int64_t t0_ns = now_ns();
  auto t0 = Clock::now();
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, -1), LIFEHOOK_OK);
  double total = ms_since(t0);
  double term_at = (read_ns(dir + "/term") - t0_ns) / 1e6;
  std::printf("preStop > grace 2 s: stop signal at %.0f ms, terminate returned at %.0f ms\n", term_at, total);
  // Generous upper bounds (a loaded CI machine), still far from the wrong answers: a stop signal
  // at 0 (preStop not waited for) or never; SIGKILL at 2x the grace (6000 ms) or never.
  EXPECT_GE(term_at, 1990);
  EXPECT_LT(term_at, 2000 + 900);
  EXPECT_GE(total, 3990);
  EXPECT_LT(total, 4000 + 900);
  json s = pod.status();
  EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["signal"], 9);
  EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["exitCode"], 137);
  EXPECT_EQ(s["phase"], "Failed");
  EXPECT_EQ(s["display"]["status"], "Error");
  EXPECT_EQ(count_processes(hook_marker), 0) << "the preStop hook is killed, not abandoned";
  auto r = pod.events.reasons();
  ASSERT_GE(r.size(), 3u);
  EXPECT_EQ(r[2], "Killing:app");
  std::system(("rm -rf " + dir).c_str());
}

// A container that ignores SIGTERM is SIGKILLed at the deadline (grace 3 s > the 2 s floor).
TEST(PodTerminate, TermIgnoringContainerIsKilledAtTheDeadline) {
  Ctx c;
  std::string marker = marker_sleep();
  Pod pod(c.ctx,
          pod_json("stubborn", json::array({container("app", "trap '' TERM; sleep " + marker + "; sleep " + marker)}),
                   json::array(), {{"terminationGracePeriodSeconds", 3}}));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll_column("Running"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto t0 = Clock::now();
  std::thread checker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(pod.status()["display"]["status"], "Terminating");
  });
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, -1), LIFEHOOK_OK);
  double total = ms_since(t0);
  checker.join();
  std::printf("TERM-ignoring container, grace 3000 ms: killed and reaped after %.1f ms\n", total);
  EXPECT_GE(total, 2990);
  EXPECT_LE(total, 3000 + 900);  // typically +2 ms (printed above); generous for a loaded CI machine
  EXPECT_EQ(pod.status()["containerStatuses"][0]["state"]["terminated"]["signal"], 9);
  EXPECT_EQ(count_processes(marker), 0);
}

// lifecycle.stopSignal replaces SIGTERM; a container that exits on it stops at once.
TEST(PodTerminate, StopSignalFromLifecycle) {
  Ctx c;
  json app = container("app", "trap 'exit 0' USR1; trap '' TERM; while :; do sleep 0.02; done");
  app["lifecycle"] = {{"stopSignal", "SIGUSR1"}};
  Pod pod(c.ctx, pod_json("sig", json::array({app})));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll_column("Running"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto t0 = Clock::now();
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 10000), LIFEHOOK_OK);
  EXPECT_LT(ms_since(t0), 1000);
  json s = pod.status();
  EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["exitCode"], 0);
  EXPECT_EQ(s["phase"], "Succeeded");
  EXPECT_EQ(s["display"]["status"], "Completed");
}

// A second terminate with a shorter grace brings the deadline forward; a longer one changes nothing.
TEST(PodTerminate, SecondTerminateShortensTheGrace) {
  Ctx c;
  std::string marker = marker_sleep();
  json app = container("app", "trap '' TERM; sleep " + marker + "; sleep " + marker);
  app["lifecycle"] = {{"preStop", {{"sleep", {{"seconds", 600}}}}}};
  Pod pod(c.ctx, pod_json("shorten", json::array({app}), json::array(), {{"terminationGracePeriodSeconds", 30}}));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll_column("Running"));
  double first_returned = -1;
  auto t0 = Clock::now();
  std::thread first([&] {
    EXPECT_EQ(lifehook_pod_terminate(pod.pod, -1), LIFEHOOK_OK);
    first_returned = ms_since(t0);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto t1 = Clock::now();
  std::thread longer([&] { EXPECT_EQ(lifehook_pod_terminate(pod.pod, 60000), LIFEHOOK_OK); });
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 1000), LIFEHOOK_OK);
  double second = ms_since(t1);
  first.join();
  longer.join();
  // preStop killed at t1+1 s, stop signal then, SIGKILL 2 s later (the floor): t1+3 s.
  std::printf("second terminate (grace 1000 ms over 30 s): returned after %.0f ms; first after %.0f ms\n", second,
              first_returned);
  EXPECT_GE(second, 2990);
  EXPECT_LT(second, 3000 + 900);
  EXPECT_LT(first_returned, 3300 + 1200);
  EXPECT_EQ(count_processes(marker), 0);
}

// Grace 0: running preStop hooks are killed and every container gets SIGKILL at once.
TEST(PodTerminate, GraceZeroKillsEverythingNow) {
  Ctx c;
  std::string marker = marker_sleep(), hook_marker = marker_sleep();
  json app = container("app", "trap '' TERM; sleep " + marker);
  app["lifecycle"] = {{"preStop", {{"exec", {{"command", {"sleep", hook_marker}}}}}}};
  Pod pod(c.ctx, pod_json("force", json::array({app, container("b", "sleep " + marker)})));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll([](const json& s) { return s["display"]["ready"] == "2/2"; }));
  // Start a long terminate so the preStop hook is running, then force.
  std::thread slow([&] { EXPECT_EQ(lifehook_pod_terminate(pod.pod, 30000), LIFEHOOK_OK); });
  ASSERT_TRUE(pod.poll([&](const json&) { return count_processes(hook_marker) == 1; }, 3000));
  auto t0 = Clock::now();
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 0), LIFEHOOK_OK);
  double took = ms_since(t0);
  slow.join();
  std::printf("grace 0: everything stopped after %.1f ms\n", took);
  EXPECT_LT(took, 2000);  // vs the 30 s grace of the first terminate
  EXPECT_EQ(count_processes(marker) + count_processes(hook_marker), 0);
}

// destroy without terminate, and lifehook_ctx_free with pods still alive, leave nothing behind.
TEST(PodTerminate, DestroyAndContextFreeLeaveNoProcess) {
  std::string marker = marker_sleep();
  {
    Ctx c;
    Pod pod(c.ctx, pod_json("d1", json::array({container("a", "trap '' TERM; sleep " + marker),
                                               container("b", "sleep " + marker + " & sleep " + marker)})));
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(pod.poll([](const json& s) { return s["display"]["ready"] == "2/2"; }));
    ASSERT_TRUE(pod.poll([&](const json&) { return count_processes(marker) >= 3; }, 3000));
  }  // ~Pod: lifehook_pod_destroy
  EXPECT_EQ(count_processes(marker), 0);

  lifehook_ctx* ctx = nullptr;
  ASSERT_EQ(lifehook_ctx_new(nullptr, &ctx, nullptr), LIFEHOOK_OK);
  lifehook_pod* p = nullptr;
  json j = pod_json("d2", json::array({container("a", "trap '' TERM; sleep " + marker)}));
  ASSERT_EQ(lifehook_pod_create(ctx, j.dump().c_str(), nullptr, nullptr, &p, nullptr), LIFEHOOK_OK);
  ASSERT_EQ(lifehook_pod_start(p), LIFEHOOK_OK);
  auto t0 = Clock::now();
  while (count_processes(marker) == 0 && ms_since(t0) < 3000)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  lifehook_ctx_free(ctx);  // the pod is still alive: the context shuts it down
  EXPECT_EQ(count_processes(marker), 0);
  char* s = nullptr;
  EXPECT_EQ(lifehook_pod_status(p, &s), LIFEHOOK_E_STATE);
  lifehook_pod_destroy(p);  // only frees the handle
}
