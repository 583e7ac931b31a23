// Many pods on one context: 500 pods x 2 containers run and terminate on the default two
// loop threads (no thread per pod or container), and nothing is left behind.
#include <dirent.h>
#include <gtest/gtest.h>

#include <atomic>

#include "unit/pod_test_util.hpp"

using namespace podtest;

namespace {

int thread_count() {
  int n = 0;
  DIR* d = opendir("/proc/self/task");
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

}  // namespace

TEST(PodScale, FiveHundredPodsOfTwoContainers) {
  constexpr int kPods = 500;
  int threads_before = thread_count();
  Ctx c;
  std::string marker = marker_sleep();
  std::vector<std::unique_ptr<Pod>> pods;
  auto t0 = Clock::now();
  for (int i = 0; i < kPods; ++i) {
    json a = {{"name", "a"}, {"command", {"sleep", marker}}};
    json b = {{"name", "b"}, {"command", {"sleep", marker}}};
    pods.push_back(std::make_unique<Pod>(c.ctx, pod_json("p" + std::to_string(i), json::array({a, b}))));
    ASSERT_EQ(lifehook_pod_start(pods.back()->pod), LIFEHOOK_OK);
  }
  double started = ms_since(t0);
  int running = 0;
  for (auto& p : pods) running += p->poll_column("Running", 60000);
  double all_running = ms_since(t0);
  EXPECT_EQ(running, kPods);
  EXPECT_EQ(count_processes(marker), 2 * kPods);
  int threads_during = thread_count();
  // Library threads: the two loop threads (+ a possible resolver thread); none per pod.
  EXPECT_LE(threads_during - threads_before, 4) << threads_before << " -> " << threads_during;

  auto t1 = Clock::now();
  std::vector<std::thread> terminators;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t)
    terminators.emplace_back([&, t] {
      for (int i = t; i < kPods; i += 8) ok += lifehook_pod_terminate(pods[i]->pod, 10000) == LIFEHOOK_OK;
    });
  for (auto& t : terminators) t.join();
  double terminated = ms_since(t1);
  EXPECT_EQ(ok.load(), kPods);
  EXPECT_EQ(count_processes(marker), 0);
  int succeeded = 0;
  for (auto& p : pods) succeeded += p->status()["containerStatuses"][1]["state"]["terminated"]["signal"] == 15;
  EXPECT_EQ(succeeded, kPods) << "every container stopped by its SIGTERM";
  pods.clear();
  std::printf(
      "500 pods x 2 containers: start calls %.0f ms, all Running %.0f ms, all terminated %.0f ms, threads +%d\n",
      started, all_running, terminated, threads_during - threads_before);
}
