// A library host that dies without lifehook_ctx_free (SIGKILL) takes every process tree it
// started along, escapers included (the cgroup guard, plugin/os/cgroup_guard.hpp); a host that
// frees its last context has no guard process left.
#include "plugin/os/cgroup_guard.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "api_support.hpp"

using namespace lifehook_test;

namespace {

// Pids whose command line contains `marker`.
std::vector<int> processes_with(const std::string& marker) {
  std::vector<int> found;
  if (DIR* d = ::opendir("/proc")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      std::ifstream in(std::string("/proc/") + e->d_name + "/cmdline", std::ios::binary);
      std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (cmdline.find(marker) != std::string::npos) found.push_back(std::atoi(e->d_name));
    }
    ::closedir(d);
  }
  return found;
}

bool cgroups_usable() {
  if (::geteuid() != 0) return false;
  Ctx ctx;
  return lifehook::cgroup_guard_pid() > 0;
}

}  // namespace

TEST(CgroupGuard, TreesDieWithAKilledHost) {
  if (!cgroups_usable()) GTEST_SKIP() << "no cgroup v2 we may create (needs root)";
  std::string marker = "1000." + std::to_string(::getpid());
  pid_t host = ::fork();
  ASSERT_GE(host, 0);
  if (host == 0) {
    // The host: one exec whose tree has an escaper (setsid), then it waits to be killed.
    lifehook_ctx* ctx = nullptr;
    if (lifehook_ctx_new(nullptr, &ctx, nullptr) != LIFEHOOK_OK) ::_exit(3);
    std::string req = R"({"handler":{"exec":{"command":["sh","-c","setsid sleep )" + marker + " & sleep " + marker +
                      R"( & wait"]}},"timeoutMs":600000})";
    if (lifehook_submit(
            ctx, req.c_str(), [](void*, uint64_t, const char*) {}, nullptr, nullptr, nullptr) != LIFEHOOK_OK)
      ::_exit(4);
    for (;;) ::pause();
  }
  // The shell (its command line names the marker too) and its two sleeps.
  bool started = eventually([&] { return processes_with(marker).size() == 3; }, std::chrono::seconds(10));
  ::kill(host, SIGKILL);
  int status = 0;
  ::waitpid(host, &status, 0);
  ASSERT_TRUE(started) << "the host's exec did not start (" << processes_with(marker).size() << " processes)";
  EXPECT_TRUE(eventually([&] { return processes_with(marker).empty(); }, std::chrono::seconds(10)))
      << processes_with(marker).size() << " processes of the killed host's tree still run";
  for (int pid : processes_with(marker)) ::kill(pid, SIGKILL);
}

TEST(CgroupGuard, NoGuardOnceTheLastContextIsFreed) {
  if (!cgroups_usable()) GTEST_SKIP() << "no cgroup v2 we may create (needs root)";
  int guard = -1;
  {
    Ctx ctx;
    guard = lifehook::cgroup_guard_pid();
    EXPECT_GT(guard, 0);
    EXPECT_EQ(::kill(guard, 0), 0);
  }
  EXPECT_EQ(lifehook::cgroup_guard_pid(), -1);
  EXPECT_NE(::kill(guard, 0), 0) << "the guard outlived the last context";
}
