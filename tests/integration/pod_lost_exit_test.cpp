// A driver that loses an exit cannot hang the host: lifehook_pod_terminate returns once the exit
// is overdue (SIGKILL sent, nothing reported within the report window), with a FailedKillPod
// event and the container shown as the kubelet shows a container it cannot find. And grace or
// timeouts of INT64_MAX saturate (a long grace, forever), never wrap into "now".
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>

#include "unit/pod_test_util.hpp"

using namespace podtest;

namespace {

// A host runtime that starts containers and receives signals but never reports an exit.
struct SilentHost {
  std::atomic<int> starts{0}, kills{0}, removes{0};
  static int start(void* user, const char*, const char*, char**, char**) {
    ++static_cast<SilentHost*>(user)->starts;
    return 0;
  }
  static int signal(void* user, const char*, const char*, int signo) {
    if (signo == SIGKILL) ++static_cast<SilentHost*>(user)->kills;
    return 0;
  }
  static int remove(void* user, const char*, const char*) {
    ++static_cast<SilentHost*>(user)->removes;
    return 0;
  }
  lifehook_driver driver() {
    lifehook_driver d{};
    d.struct_size = sizeof d;
    d.user = this;
    d.start = &SilentHost::start;
    d.signal = &SilentHost::signal;
    d.remove = &SilentHost::remove;
    return d;
  }
};

}  // namespace

TEST(PodLostExit, TerminateReturnsWhenTheDriverNeverReportsTheExit) {
  Ctx c;
  SilentHost host;
  lifehook_driver drv = host.driver();
  Pod pod(c.ctx, pod_json("silent", json::array({container("app", "sleep 600")})), json(), &drv);
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll_column("Running"));
  auto t0 = Clock::now();
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 0), LIFEHOOK_OK);
  double took = ms_since(t0);
  // SIGKILL at once (grace 0), then the 5 s report window.
  EXPECT_GE(took, 4900);
  EXPECT_LT(took, 9000);
  EXPECT_EQ(host.kills.load(), 1);
  // The removal is a driver call made after the engine's lock is released: it may trail terminate.
  for (auto t1 = Clock::now(); host.removes.load() == 0 && ms_since(t1) < 5000;)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(host.removes.load(), 1);
  json s = pod.status();
  const json& t = s["containerStatuses"][0]["state"]["terminated"];
  EXPECT_EQ(t["reason"], "ContainerStatusUnknown") << s;
  EXPECT_EQ(t["exitCode"], 137);
  // Events reach watchers asynchronously (on a loop thread): wait for it.
  for (auto t1 = Clock::now(); pod.events.count("FailedKillPod:app") == 0 && ms_since(t1) < 5000;)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(pod.events.count("FailedKillPod:app"), 1u) << ::testing::PrintToString(pod.events.reasons());
  std::printf("terminate with a lost exit returned after %.0f ms\n", took);
}

// A grace of INT64_MAX ms is a very long grace, not an overflow into the past: the container
// gets the stop signal and exits on it (42), it is not SIGKILLed at once.
TEST(PodLostExit, TerminateWithInt64MaxGraceSendsTheStopSignal) {
  Ctx c;
  std::string marker = marker_sleep();
  Pod pod(c.ctx,
          pod_json("maxgrace",
                   json::array({container("app", "trap 'exit 42' TERM; while :; do sleep 0.02; done; : " + marker)})));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll_column("Running"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the trap is set
  ASSERT_EQ(lifehook_pod_terminate(pod.pod, INT64_MAX), LIFEHOOK_OK);
  json s = pod.status();
  EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["exitCode"], 42) << s;
  EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["signal"], 0) << s;
  EXPECT_EQ(count_processes(marker), 0);
}

// A wait of INT64_MAX ms is forever: it returns when the pod is done, not E_STATE at once.
TEST(PodLostExit, WaitWithInt64MaxTimeoutWaitsForThePod) {
  Ctx c;
  Pod pod(c.ctx, pod_json("maxwait", json::array({container("app", "sleep 0.3")}), json::array(),
                          {{"restartPolicy", "Never"}}));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  auto t0 = Clock::now();
  EXPECT_EQ(lifehook_pod_wait(pod.pod, INT64_MAX), LIFEHOOK_OK);
  EXPECT_GE(ms_since(t0), 250);
  EXPECT_EQ(pod.status()["phase"], "Succeeded");
}
