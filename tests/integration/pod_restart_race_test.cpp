// Restarts under load with real processes: every driver call acts on the instance the engine
// meant (a restart's removal of the exited instance never reaches the next one), and
// lifehook_pod_terminate always returns. Each scenario runs many short pods side by side, on one
// and on two loop threads, so a lost exit shows up as a pod that never gets where it must.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <map>
#include <memory>

#include "unit/pod_test_util.hpp"

using namespace podtest;

namespace {

// Runs `cycles` pods, `parallel` at a time, each through `one(i)`; counts the ones that failed.
int run_cycles(int cycles, int parallel, const std::function<bool(int)>& one) {
  std::atomic<int> next{0}, failed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < parallel; ++w)
    workers.emplace_back([&] {
      for (int i; (i = next++) < cycles;)
        if (!one(i)) ++failed;
    });
  for (auto& t : workers) t.join();
  return failed;
}

// lifehook_pod_terminate in a thread, bounded: a hang is a test failure with a message, not a
// test that never ends. Aborts the process (the hung call cannot be taken back) after reporting.
bool terminate_within(lifehook_pod* pod, int64_t grace_ms, std::chrono::milliseconds limit, const std::string& what) {
  auto done = std::make_shared<std::promise<int>>();
  auto fut = done->get_future();
  std::thread([pod, grace_ms, done] { done->set_value(lifehook_pod_terminate(pod, grace_ms)); }).detach();
  if (fut.wait_for(limit) != std::future_status::ready) {
    char* s = nullptr;
    lifehook_pod_status(pod, &s);
    std::fprintf(stderr, "lifehook_pod_terminate(%lld) did not return within %lld ms (%s); status: %s\n",
                 static_cast<long long>(grace_ms), static_cast<long long>(limit.count()), what.c_str(), s ? s : "");
    std::fflush(stderr);
    std::abort();
  }
  return fut.get() == LIFEHOOK_OK;
}

// The init container fails once, then succeeds: its first restart is immediate (no backoff), so
// the removal of the failed instance and the start of the next one are issued together.
void failing_once_init_cycles(const char* ctx_options) {
  Ctx c(ctx_options);
  std::string dir = temp_dir();
  std::string marker = marker_sleep();
  constexpr int kCycles = 200;
  std::atomic<int> hangs{0};
  auto t0 = Clock::now();
  int failed = run_cycles(kCycles, 8, [&](int i) {
    std::string flag = dir + "/failed-" + std::to_string(i);
    Pod pod(c.ctx, pod_json("race-" + std::to_string(i), json::array({container("app", "exec sleep " + marker)}),
                            json::array({container("init", "[ -e " + flag + " ] || { : > " + flag + "; exit 1; }")})));
    if (lifehook_pod_start(pod.pod) != LIFEHOOK_OK) return false;
    bool running = pod.poll_column("Running", 10000);
    json s = pod.status();
    if (!running) {
      ++hangs;
      ADD_FAILURE() << "cycle " << i << " never reached Running: " << s.dump();
    } else if (s["initContainerStatuses"][0]["restartCount"] != 1) {
      ADD_FAILURE() << "cycle " << i << ": " << s.dump();
      running = false;
    }
    return terminate_within(pod.pod, 1000, std::chrono::seconds(20), "failing-once init, cycle " + std::to_string(i)) &&
           running;
  });
  std::printf("%s: %d cycles of a failing-once init container in %.0f ms, %d hung, %d failed\n", ctx_options, kCycles,
              ms_since(t0), hangs.load(), failed);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(hangs.load(), 0);
  EXPECT_EQ(count_processes(marker), 0);
  std::system(("rm -rf " + dir).c_str());
}

// A container that exits at once and has a postStart hook: the exit lands while the hook runs,
// the first restart is immediate, the second waits in CrashLoopBackOff. It must get there (a
// restarted instance silently killed would show Running forever) and terminate(pod, 0) returns.
void exit_at_once_with_post_start_cycles(const char* ctx_options) {
  Ctx c(ctx_options);
  constexpr int kCycles = 100;
  auto t0 = Clock::now();
  int failed = run_cycles(kCycles, 8, [&](int i) {
    json app = container("app", "exit 3");
    app["lifecycle"] = {{"postStart", {{"exec", {{"command", {"sh", "-c", "sleep 0.05"}}}}}}};
    Pod pod(c.ctx, pod_json("exit-" + std::to_string(i), json::array({app})));
    if (lifehook_pod_start(pod.pod) != LIFEHOOK_OK) return false;
    bool backoff = pod.poll(
        [](const json& s) {
          const json& cs = s["containerStatuses"][0];
          return cs["restartCount"] == 1 && cs["state"].contains("waiting") &&
                 cs["state"]["waiting"]["reason"] == "CrashLoopBackOff";
        },
        10000);
    if (!backoff) ADD_FAILURE() << "cycle " << i << " never reached CrashLoopBackOff: " << pod.status().dump();
    return terminate_within(pod.pod, 0, std::chrono::seconds(20), "exit at once with postStart") && backoff;
  });
  std::printf("%s: %d cycles of an at-once exit with postStart in %.0f ms, %d failed\n", ctx_options, kCycles,
              ms_since(t0), failed);
  EXPECT_EQ(failed, 0);
}

}  // namespace

TEST(PodRestartRace, FailingOnceInitContainerOneThread) { failing_once_init_cycles(R"({"threads": 1})"); }
TEST(PodRestartRace, FailingOnceInitContainerTwoThreads) { failing_once_init_cycles(R"({"threads": 2})"); }
TEST(PodRestartRace, ExitAtOnceWithPostStartOneThread) { exit_at_once_with_post_start_cycles(R"({"threads": 1})"); }
TEST(PodRestartRace, ExitAtOnceWithPostStartTwoThreads) { exit_at_once_with_post_start_cycles(R"({"threads": 2})"); }

namespace {

// The open descriptors, each with what it is ("anon_inode:[pidfd]", a path, ...), so a
// difference can be named; the directory stream reading them is not among them.
std::map<int, std::string> open_fd_table() {
  std::map<int, std::string> out;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.' || std::atoi(e->d_name) == dirfd(d)) continue;
      char buf[512];
      ssize_t n = readlinkat(dirfd(d), e->d_name, buf, sizeof buf - 1);
      out[std::atoi(e->d_name)] = std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
    }
    closedir(d);
  }
  return out;
}

int open_fds() { return static_cast<int>(open_fd_table().size()); }

std::string fd_targets() {
  std::string out;
  for (const auto& [fd, what] : open_fd_table()) out += std::to_string(fd) + " -> " + what + "\n";
  return out;
}

}  // namespace

// A restart storm (backoff of 1 ms) neither grows the host's descriptors while it runs nor leaves
// any behind once the pod is gone.
TEST(PodRestartRace, RestartStormLeavesNoDescriptorBehind) {
  Ctx c;
  json opts = {{"backoffInitialMs", 1}, {"backoffMaxMs", 1}};
  {
    // Warm-up: whatever the context opens once (loop, cgroup manager) is open before we count.
    Pod warm(c.ctx, pod_json("warm", json::array({container("app", "exit 1")})), opts);
    ASSERT_EQ(lifehook_pod_start(warm.pod), LIFEHOOK_OK);
    ASSERT_TRUE(warm.poll([](const json& s) { return s["containerStatuses"][0]["restartCount"] >= 3; }));
    ASSERT_EQ(lifehook_pod_terminate(warm.pod, 0), LIFEHOOK_OK);
  }
  int before = open_fds();
  std::string before_list = fd_targets();
  int peak = before, restarts = 0;
  {
    Pod pod(c.ctx, pod_json("storm", json::array({container("app", "exit 1")})), opts);
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    auto t0 = Clock::now();
    while (ms_since(t0) < 2000) {
      peak = std::max(peak, open_fds());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    restarts = pod.status()["containerStatuses"][0]["restartCount"];
    ASSERT_TRUE(terminate_within(pod.pod, 0, std::chrono::seconds(20), "restart storm"));
  }
  int after = open_fds();
  std::printf("restart storm: %d restarts in 2 s, host descriptors %d before, peak %d, %d after\n", restarts, before,
              peak, after);
  EXPECT_GE(restarts, 20);
  EXPECT_EQ(after, before) << "before:\n" << before_list << "after:\n" << fd_targets();
  EXPECT_LE(peak, before + 12);  // one instance at a time: its pidfd, cgroup and a few in flight
}
