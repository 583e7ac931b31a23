// The pool of emptied cgroups (plugin/os/cgroup.hpp, CgroupPool): a host exec's cgroup is reused
// by the next exec, a cgroup whose tree had to be killed never is (a child cloned into a killed
// cgroup is killed at birth on recent kernels), and nothing is left once the pool is gone.
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "exec_test_util.hpp"
#include "lifehook/lifehook.h"
#include "plugin/os/cgroup.hpp"
#include "plugin/os/child.hpp"
#include "plugin/os/spawn.hpp"

using namespace lifehook;
using namespace lifehook::testing;

namespace {

spdlog::logger& quiet() {
  static auto l = std::make_shared<spdlog::logger>("cgroup-pool-test", std::make_shared<spdlog::sinks::null_sink_mt>());
  return *l;
}

bool exists(const std::string& path) {
  struct stat sb;
  return ::stat(path.c_str(), &sb) == 0;
}

// Spawns argv into the cgroup, waits for the leader's exit and destroys the Child (and with it the
// cgroup, which goes back to its pool): the handler's exec in small.
ExitStatus run_in(std::unique_ptr<Cgroup> cg, std::vector<std::string> argv) {
  boost::asio::io_context io;
  SpawnSpec spec;
  spec.argv = std::move(argv);
  spec.cgroup_fd = cg->dir_fd();
  auto child = std::make_shared<Child>(boost::asio::make_strand(io), spawn_process(spec), std::move(cg));
  ExitStatus st;
  child->async_wait([&](const ExitStatus& e) { st = e; });
  io.run_for(std::chrono::seconds(10));
  child.reset();
  return st;
}

#define REQUIRE_CGROUPS(mgr)                                            \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups"; \
  ASSERT_TRUE((mgr).available()) << "root, but no writable cgroup v2 found"

}  // namespace

TEST(CgroupPool, AnEmptiedCgroupIsReusedAndRemovedWithThePool) {
  std::string path;
  {
    CgroupManager mgr(quiet());
    REQUIRE_CGROUPS(mgr);
    auto cg = mgr.create_pooled("exec");
    ASSERT_TRUE(cg);
    path = cg->path();
    ExitStatus first = run_in(std::move(cg), {"/bin/true"});
    EXPECT_EQ(first.exit_code, 0);
    EXPECT_EQ(first.signal, 0);
    EXPECT_EQ(mgr.pool().size(), 1u);
    EXPECT_TRUE(exists(path)) << path << " was removed instead of kept";

    auto again = mgr.create_pooled("exec");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->path(), path);
    EXPECT_EQ(mgr.pool().size(), 0u);
    ExitStatus second = run_in(std::move(again), {"/bin/true"});
    EXPECT_EQ(second.exit_code, 0);
    EXPECT_EQ(second.signal, 0) << "a child cloned into a reused cgroup was killed";
  }
  EXPECT_FALSE(exists(path)) << path << " outlived its pool";
}

TEST(CgroupPool, AKilledCgroupIsNeverReusedAndGoesOnceEmpty) {
  CgroupManager mgr(quiet());
  REQUIRE_CGROUPS(mgr);
  auto cg = mgr.create_pooled("exec");
  ASSERT_TRUE(cg);
  std::string killed = cg->path();
  // The leader exits at once and leaves a member behind: releasing the cgroup kills it.
  ExitStatus st = run_in(std::move(cg), {"sh", "-c", "sleep 600.401 & exit 0"});
  EXPECT_EQ(st.exit_code, 0);
  EXPECT_EQ(survivors_after("600.401"), 0);
  EXPECT_EQ(mgr.pool().size(), 0u) << "a killed cgroup was kept for reuse";

  // The next one is a new cgroup, and a child born in it lives; a later take removes the killed
  // one once its member has left.
  auto fresh = mgr.create_pooled("exec");
  ASSERT_TRUE(fresh);
  EXPECT_NE(fresh->path(), killed);
  ExitStatus ok = run_in(std::move(fresh), {"/bin/true"});
  EXPECT_EQ(ok.signal, 0);
  EXPECT_EQ(ok.exit_code, 0);
  for (int i = 0; i < 200 && exists(killed); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    mgr.create_pooled("exec");  // taken and given back at once: each take sweeps the retired
  }
  EXPECT_FALSE(exists(killed)) << killed << " was never removed";
}

// Through the public ABI: two host execs in a row run in the same cgroup, and the context leaves
// none behind.
TEST(CgroupPool, HostExecsThroughTheAbiShareOneCgroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
  lifehook_ctx* ctx = nullptr;
  ASSERT_EQ(lifehook_ctx_new(nullptr, &ctx, nullptr), LIFEHOOK_OK);
  const char* req = R"({"handler": {"exec": {"command": ["cat", "/proc/self/cgroup"]}}, "timeoutMs": 5000})";
  std::string outputs[3];
  for (auto& out : outputs) {
    char* result = nullptr;
    ASSERT_EQ(lifehook_run(ctx, req, &result, nullptr), LIFEHOOK_OK);
    auto r = nlohmann::json::parse(result);
    lifehook_free(result);
    ASSERT_EQ(r["outcome"], "success") << r.dump();
    out = r["output"].get<std::string>();
  }
  EXPECT_NE(outputs[0].find("lifehook-" + std::to_string(::getpid()) + "-"), std::string::npos) << outputs[0];
  EXPECT_EQ(outputs[1], outputs[0]);
  EXPECT_EQ(outputs[2], outputs[0]);
  lifehook_ctx_free(ctx);
}
