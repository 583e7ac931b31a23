// The kubectl columns and the phase, as pure functions of container states (no processes).
#include <gtest/gtest.h>

#include "plugin/pod/backoff.hpp"
#include "plugin/pod/spec.hpp"
#include "plugin/pod/status.hpp"
#include "status_test_util.hpp"

using namespace lifehook;
using namespace lifehook::pod;
using namespace statustest;

namespace {

PodSpec two_init_one_main(const char* policy = "Always") {
  return parse_pod(std::string(R"({"metadata":{"name":"p","uid":"u1"},"spec":{"restartPolicy":")") + policy +
                   R"(","initContainers":[{"name":"a","command":["true"]},{"name":"b","command":["true"]}],
                     "containers":[{"name":"m","command":["true"]}]}})");
}

json status_of(const PodSpec& spec, std::vector<ContainerStatus> init, std::vector<ContainerStatus> main,
               bool deleting = false, bool terminal = false) {
  PodView v;
  v.spec = &spec;
  v.init = std::move(init);
  v.main = std::move(main);
  v.deletion_requested = deleting;
  v.terminal = terminal;
  return build_status(v, std::chrono::system_clock::now());
}

std::string col(const json& s) { return s["display"]["status"].get<std::string>(); }

}  // namespace

TEST(PodStatus, InitProgressColumns) {
  PodSpec spec = two_init_one_main();
  EXPECT_EQ(
      col(status_of(spec, {waiting("PodInitializing"), waiting("PodInitializing")}, {waiting("PodInitializing")})),
      "Init:0/2");
  EXPECT_EQ(col(status_of(spec, {running(false), waiting("PodInitializing")}, {waiting("PodInitializing")})),
            "Init:0/2");
  EXPECT_EQ(col(status_of(spec, {terminated(0), running(false)}, {waiting("PodInitializing")})), "Init:1/2");
  EXPECT_EQ(col(status_of(spec, {terminated(0), terminated(0)}, {waiting("PodInitializing")})), "PodInitializing");
  json s = status_of(spec, {terminated(0), terminated(0)}, {running()});
  EXPECT_EQ(col(s), "Running");
  EXPECT_EQ(s["phase"], "Running");
  EXPECT_EQ(s["display"]["ready"], "1/1");
  EXPECT_EQ(s["display"]["restarts"], "0");
}

TEST(PodStatus, InitFailures) {
  PodSpec spec = two_init_one_main();
  EXPECT_EQ(col(status_of(spec, {terminated(1), waiting("PodInitializing")}, {waiting("PodInitializing")})),
            "Init:Error");
  ContainerStatus crash = waiting("CrashLoopBackOff", true);
  crash.restart_count = 2;
  json s = status_of(spec, {crash, waiting("PodInitializing")}, {waiting("PodInitializing")});
  EXPECT_EQ(col(s), "Init:CrashLoopBackOff");
  EXPECT_EQ(s["phase"], "Pending");
  EXPECT_EQ(s["display"]["ready"], "0/1");
  EXPECT_EQ(s["display"]["restarts"].get<std::string>().rfind("2 (", 0), 0u) << s["display"];
  EXPECT_EQ(col(status_of(spec, {terminated(0), terminated(137, 9)}, {waiting("PodInitializing")})), "Init:Error");

  PodSpec never = two_init_one_main("Never");
  json f = status_of(never, {terminated(3), waiting("PodInitializing")}, {waiting("PodInitializing")}, false, true);
  EXPECT_EQ(f["phase"], "Failed");
  EXPECT_EQ(col(f), "Init:Error");
}

TEST(PodStatus, MainContainerColumns) {
  PodSpec spec = parse_pod(R"({"metadata":{"name":"p"},"spec":{"containers":[
      {"name":"a","command":["x"]},{"name":"b","command":["x"]}]}})");
  EXPECT_EQ(col(status_of(spec, {}, {waiting("ContainerCreating"), waiting("ContainerCreating")})),
            "ContainerCreating");
  EXPECT_EQ(status_of(spec, {}, {waiting("ContainerCreating"), waiting("ContainerCreating")})["phase"], "Pending");
  EXPECT_EQ(col(status_of(spec, {}, {running(), running()})), "Running");
  // The first container with a reason wins (walked from last to first).
  EXPECT_EQ(col(status_of(spec, {}, {waiting("CrashLoopBackOff", true), running()})), "CrashLoopBackOff");
  EXPECT_EQ(col(status_of(spec, {}, {running(), terminated(2)})), "Error");
  // Completed next to a running container: Running when the pod is Ready, else NotReady.
  EXPECT_EQ(col(status_of(spec, {}, {running(), terminated(0)})), "NotReady");
  EXPECT_EQ(col(status_of(spec, {}, {terminated(0), terminated(0)}, false, true)), "Completed");
  EXPECT_EQ(status_of(spec, {}, {terminated(0), terminated(0)}, false, true)["phase"], "Succeeded");
  EXPECT_EQ(col(status_of(spec, {}, {running(), running()}, true)), "Terminating");
  json done = status_of(spec, {}, {terminated(143, 15), terminated(0)}, true, true);
  EXPECT_EQ(done["phase"], "Failed");
  EXPECT_EQ(col(done), "Error");
  EXPECT_EQ(col(status_of(spec, {}, {waiting("PostStartHookError", true), running()})), "PostStartHookError");
}

TEST(PodStatus, PhaseFollowsRestartPolicy) {
  for (auto [policy, expect] : {std::pair{"Always", "Running"}, {"OnFailure", "Running"}, {"Never", "Failed"}}) {
    PodSpec spec = parse_pod(std::string(R"({"metadata":{"name":"p"},"spec":{"restartPolicy":")") + policy +
                             R"(","containers":[{"name":"a","command":["x"]}]}})");
    EXPECT_EQ(status_of(spec, {}, {terminated(1)})["phase"], expect) << policy;
  }
}

TEST(PodStatus, Durations) {
  EXPECT_EQ(go_duration(Millis(10000)), "10s");
  EXPECT_EQ(go_duration(Millis(300000)), "5m0s");
  EXPECT_EQ(go_duration(Millis(80000)), "1m20s");
  EXPECT_EQ(go_duration(Millis(250)), "250ms");
  EXPECT_EQ(go_duration(Millis(1500)), "1.5s");
  EXPECT_EQ(human_duration(std::chrono::seconds(5)), "5s");
  EXPECT_EQ(human_duration(std::chrono::seconds(150)), "2m30s");
  EXPECT_EQ(human_duration(std::chrono::seconds(3600 * 3 + 60 * 4)), "3h4m");
}

TEST(PodBackoff, KubeletSchedule) {
  Backoff b;  // 10 s, 300 s, reset 600 s
  auto t = Clock::now();
  EXPECT_EQ(b.delay(t, t).count(), 0) << "the first restart is immediate";
  b.next(t, t);
  std::vector<int64_t> waits;
  for (int i = 0; i < 8; ++i) {
    t += std::chrono::seconds(1);  // crashed 1 s after its start
    Millis d = b.delay(t, t);
    waits.push_back(d.count() / 1000);
    t += d;
    b.next(t - d, t);
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{10, 20, 40, 80, 160, 300, 300, 300}));
  // Ran for more than 10 minutes: fresh start.
  t += std::chrono::seconds(601);
  EXPECT_EQ(b.delay(t, t).count(), 0);
  b.next(t, t);
  EXPECT_EQ(b.current().count(), 10000);
}
