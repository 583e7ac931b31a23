// The per-target plan cache of container exec (container_exec_target.hpp) and the per-bundle
// config cache: reused while the container lives, never stale when the container is restarted
// (new init process) or its config.json changes, and holding no descriptors of dead containers.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "container_exec_helpers.hpp"
#include "lifehook/lifehook.h"
#include "oci_fixture.hpp"
#include "plugin/common/errors.hpp"
#include "plugin/os/container_exec_target.hpp"

namespace lifehook::testing {
namespace {

int open_descriptors() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n - 1;  // the directory's own descriptor
}

// Where a process runs: its network and mount namespaces and its cgroups.
const std::vector<std::string> kWhere = {
    "sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/mnt; cat /proc/self/cgroup"};

std::string runc_view(const RuncContainer& c) { return c.runc_exec(kWhere); }

// `runc kill` + `runc delete` + `runc run -d` of the same id and bundle: a new init process.
int restart(const RuncContainer& c) {
  c.runc("kill " + c.id() + " KILL >/dev/null 2>&1");
  c.runc("delete -f " + c.id() + " >/dev/null 2>&1");
  int rc = 0;
  c.runc("run -d --bundle " + shell_quote(c.bundle()) + " " + c.id() + " </dev/null >/dev/null 2>&1", &rc);
  if (rc != 0) return -1;
  try {
    return nlohmann::json::parse(c.runc("state " + c.id())).value("pid", -1);
  } catch (const std::exception&) {
    return -1;
  }
}

TEST(ContainerExecPlan, ReusedWhileTheContainerLives) {
  SKIP_WITHOUT_RUNC();
  RuncContainer c;
  ASSERT_TRUE(c.ok()) << c.error();
  clear_container_exec_cache();
  unsigned long before = target_plan_resolutions();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(exec_in_container(c.pid(), c.bundle(), {"true"}).exit_code, 0);
  EXPECT_EQ(target_plan_resolutions() - before, 1u);
}

TEST(ContainerExecPlan, ARestartedContainerGetsANewPlanNeverTheOldOne) {
  SKIP_WITHOUT_RUNC();
  RuncContainer c;
  ASSERT_TRUE(c.ok()) << c.error();
  clear_container_exec_cache();
  int old_pid = c.pid();
  std::string old_view = exec_in_container(old_pid, c.bundle(), kWhere).out;
  ASSERT_EQ(old_view, runc_view(c));

  int new_pid = restart(c);
  ASSERT_GT(new_pid, 0);
  ASSERT_NE(new_pid, old_pid);
  // The old pid is gone: an error, never an exec somewhere else (on the host, or in the new one).
  EXPECT_THROW(exec_in_container(old_pid, c.bundle(), {"true"}), Error);

  unsigned long before = target_plan_resolutions();
  ExecOutcome r = exec_in_container(new_pid, c.bundle(), kWhere);
  EXPECT_EQ(target_plan_resolutions() - before, 1u);
  EXPECT_EQ(r.out, runc_view(c));
  EXPECT_NE(r.out, old_view);  // a new network and mount namespace
}

TEST(ContainerExecPlan, APlanIsOnlyBuiltForTheProcessThatStartedThen) {
  SKIP_WITHOUT_RUNC();
  RuncContainer c;
  ASSERT_TRUE(c.ok()) << c.error();
  std::optional<unsigned long long> start = process_start_time(c.pid());
  ASSERT_TRUE(start);
  clear_container_exec_cache();
  // As if the pid had been reused by another process since: no plan, "not found".
  try {
    target_plan(c.pid(), *start + 1);
    ADD_FAILURE() << "a plan was built for a process with another start time";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), LIFEHOOK_E_NOT_FOUND) << e.what();
  }
  EXPECT_EQ(target_plan(c.pid(), *start)->start_time, *start);
}

TEST(ContainerExecPlan, AChangedConfigIsReadAgain) {
  SKIP_WITHOUT_RUNC();
  RuncContainer c;
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(exec_in_container(c.pid(), c.bundle(), {"sh", "-c", "id -u; echo $MARK"}).out, "0\n\n");
  std::string file = c.bundle() + "/config.json";
  nlohmann::json config = nlohmann::json::parse(std::ifstream(file));
  config["process"]["user"]["uid"] = 1000;
  config["process"]["env"].push_back("MARK=changed");
  std::ofstream(file) << config.dump(1);
  EXPECT_EQ(exec_in_container(c.pid(), c.bundle(), {"sh", "-c", "id -u; echo $MARK"}).out, "1000\nchanged\n");
}

TEST(ContainerExecPlan, NoDescriptorsOfExitedContainersAreKept) {
  SKIP_WITHOUT_RUNC();
  clear_container_exec_cache();
  int baseline = open_descriptors();
  int held = 0;
  {
    RuncContainer c;
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(exec_in_container(c.pid(), c.bundle(), {"true"}).exit_code, 0);
    held = open_descriptors() - baseline;  // the cached cgroup files of c
    EXPECT_GT(held, 0);
  }
  RuncContainer d;
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(exec_in_container(d.pid(), d.bundle(), {"true"}).exit_code, 0);
  // c's entry was dropped when d's plan was made: only d's files are open now.
  EXPECT_EQ(open_descriptors() - baseline, held);
  clear_container_exec_cache();
  EXPECT_EQ(open_descriptors(), baseline);
}

// The cache is process-wide, but lifehook_ctx_free of the last context releases it: a host that
// frees its contexts (and then dlcloses the library) keeps no descriptor of ours.
TEST(ContainerExecPlan, FreeingTheLastContextReleasesTheCache) {
  SKIP_WITHOUT_RUNC();
  RuncContainer c;
  ASSERT_TRUE(c.ok()) << c.error();
  clear_container_exec_cache();
  int baseline = open_descriptors();
  lifehook_ctx* ctx = nullptr;
  char* err = nullptr;
  ASSERT_EQ(lifehook_ctx_new(nullptr, &ctx, &err), LIFEHOOK_OK) << (err ? err : "");
  nlohmann::json req = {{"handler", {{"exec", {{"command", {"true"}}}}}},
                        {"target", {{"pid", c.pid()}, {"bundle", c.bundle()}, {"execMode", "container"}}}};
  char* result = nullptr;
  ASSERT_EQ(lifehook_run(ctx, req.dump().c_str(), &result, &err), LIFEHOOK_OK) << (err ? err : "");
  EXPECT_EQ(nlohmann::json::parse(result).value("exitCode", -1), 0) << result;
  lifehook_free(result);
  EXPECT_EQ(exec_in_container(c.pid(), c.bundle(), {"true"}).exit_code, 0);
  EXPECT_GT(open_descriptors(), baseline) << "the plan keeps the container's cgroup files open";
  lifehook_ctx_free(ctx);
  EXPECT_EQ(open_descriptors(), baseline);
}

}  // namespace
}  // namespace lifehook::testing
