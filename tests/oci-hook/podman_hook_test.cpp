// The hook through podman --hooks-dir with the shipped hooks.d files (root only), with podman's
// runtime pinned: runc, and crun (in a private mount namespace on hybrid cgroup hosts, see
// PodmanSandbox).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/bundle.hpp"
#include "support/loopback.hpp"
#include "support/podman.hpp"
#include "support/process.hpp"

namespace ocihook_test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// The parameter is podman's --runtime.
class OciHookPodman : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (std::string why = podman_unavailable_reason(GetParam()); !why.empty()) GTEST_SKIP() << why;
  }
  bool crun() const { return GetParam() == "crun"; }
};

INSTANTIATE_TEST_SUITE_P(Runtimes, OciHookPodman, ::testing::Values("runc", "crun"),
                         [](const auto& info) { return info.param; });

TEST_P(OciHookPodman, ShippedHooksDirGatesStartOnTwoPortsInOrder) {
  GatedPort first, second;
  PodmanSandbox pm("order", GetParam());
  json wait_for = json::array({{{"name", "mysql"}, {"tcpSocket", {{"port", first.port()}}}},
                               {{"name", "redis"}, {"tcpSocket", {{"port", second.port()}}}}});
  bool marker_before_first = true;
  std::thread opener([&] {
    std::this_thread::sleep_for(400ms);
    second.open();
    std::this_thread::sleep_for(900ms);
    marker_before_first = !pm.read_file("rootfs/marker").empty();
    first.open();
  });
  ProcResult r = pm.run({{"lifehook.io/wait-for", wait_for.dump()},
                         {"lifehook.io/wait-for-period", "0.1"},
                         {"lifehook.io/wait-for-timeout", "20"},
                         {"lifehook.io/log", pm.path("hook.log")}},
                        {"sh", "-c", "echo started > /marker"});
  opener.join();
  EXPECT_EQ(r.exit_code, 0) << r.err << "\nlog: " << pm.read_file("hook.log");
  EXPECT_FALSE(marker_before_first) << "the container ran before its first dependency was up";
  EXPECT_EQ(pm.read_file("rootfs/marker"), "started\n");
  EXPECT_GE(second.first_connection_at(), first.opened_at()) << "redis was tried before mysql was ready";
  std::string log = pm.read_file("hook.log");
  EXPECT_NE(log.find("waiting for tcp 127.0.0.1:" + std::to_string(first.port()) + " (mysql) \u2014 attempt 2"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("ready: tcp 127.0.0.1:" + std::to_string(second.port()) + " (redis)"), std::string::npos) << log;
}

TEST_P(OciHookPodman, NeverOpenedPortFailsTheRunWithTheHookError) {
  GatedPort never;
  PodmanSandbox pm("timeout", GetParam());
  ProcResult r = pm.run({{"lifehook.io/wait-for", json::array({{{"tcpSocket", {{"port", never.port()}}}}}).dump()},
                         {"lifehook.io/wait-for-period", "0.2"},
                         {"lifehook.io/wait-for-timeout", "1.5"},
                         {"lifehook.io/log", pm.path("hook.log")},
                         // crun discards a hook's stderr unless this names a file (runc puts it in its error).
                         {"run.oci.hooks.stderr", pm.path("hooks-stderr")}},
                        {"sh", "-c", "echo started > /marker"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(r.seconds, 20.0);
  std::string reason =
      "lifehook.io/wait-for[0] tcp 127.0.0.1:" + std::to_string(never.port()) + ": not ready within 1.5 s";
  std::string hook_stderr = crun() ? pm.read_file("hooks-stderr") : r.err;
  EXPECT_NE(hook_stderr.find(reason), std::string::npos) << hook_stderr << "\npodman: " << r.err;
  EXPECT_NE(pm.read_file("hook.log").find(reason), std::string::npos) << pm.read_file("hook.log");
  EXPECT_EQ(pm.read_file("rootfs/marker"), "");
}

TEST_P(OciHookPodman, PostStartExecAndPostStopHttpGet) {
  HttpRecorder server;
  PodmanSandbox pm("post", GetParam());
  std::string marker = "/poststart-" + pm.name();
  ProcResult r = pm.run(
      {{"lifehook.io/post-start", json{{"exec", {{"command", {"sh", "-c", "echo $LIFEHOOK_PM > " + marker}}}}}.dump()},
       {"lifehook.io/post-stop",
        json{{"httpGet", {{"port", server.port()}, {"path", "/stopped/" + pm.name()}}}}.dump()},
       {"lifehook.io/log", pm.path("hook.log")}},
      {"sh", "-c", "sleep 0.5"});
  EXPECT_EQ(r.exit_code, 0) << r.err << "\nlog: " << pm.read_file("hook.log");
  // At the container's root, with the container's environment: inside it.
  EXPECT_EQ(pm.read_file("rootfs" + marker), "from-podman\n") << pm.read_file("hook.log");
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the exec ran on the host";
  // podman runs poststop hooks itself, in its cleanup after the container is removed.
  EXPECT_TRUE(server.wait_for("GET /stopped/" + pm.name() + " HTTP/1.1", 15s)) << pm.read_file("hook.log");
}

}  // namespace
}  // namespace ocihook_test
