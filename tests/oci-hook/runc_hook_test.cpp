// The hook under real runc (root only): config.json hooks pointing at the built binary, a
// busybox-static container on the host network, loopback endpoints run by the test.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/bundle.hpp"
#include "support/loopback.hpp"
#include "support/process.hpp"

namespace ocihook_test {
namespace {

using namespace std::chrono_literals;

#define SKIP_WITHOUT_RUNC()                      \
  do {                                           \
    std::string why = runc_unavailable_reason(); \
    if (!why.empty()) GTEST_SKIP() << why;       \
  } while (0)

std::string tcp_entry(const std::string& name, int port) {
  return json{{"name", name}, {"tcpSocket", {{"host", "127.0.0.1"}, {"port", port}}}}.dump();
}

// Nothing the hook started may outlive it: every command line the tests give a handler, and
// every runc call, names the container id or the bundle directory.
void expect_nothing_left(const Bundle& b) {
  EXPECT_TRUE(processes_with_cmdline(b.id()).empty()) << "a process naming the container is still running";
  EXPECT_TRUE(processes_with_cmdline(b.dir()).empty()) << "a process naming the bundle is still running";
}

TEST(OciHookRunc, ContainerStartsOnlyAfterBothPortsOpenInOrder) {
  SKIP_WITHOUT_RUNC();
  GatedPort first, second;
  Bundle b("order");
  b.set_process({"sh", "-c", "echo started > /marker"});
  b.annotate("lifehook.io/wait-for",
             "[" + tcp_entry("first", first.port()) + "," + tcp_entry("second", second.port()) + "]");
  b.annotate("lifehook.io/wait-for-period", "0.1");
  b.annotate("lifehook.io/wait-for-timeout", "20");
  b.annotate("lifehook.io/log", b.path("hook.log"));
  b.add_hook("createRuntime");

  // The second dependency comes up first: the hook must still wait for the first, and must not
  // even try the second before the first is ready.
  bool marker_before_first = true;
  std::thread opener([&] {
    std::this_thread::sleep_for(400ms);
    second.open();
    std::this_thread::sleep_for(900ms);
    marker_before_first = !b.read_file("rootfs/marker").empty();
    first.open();
  });
  auto t0 = Clock::now();
  ProcResult r = b.run_detached();
  opener.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(marker_before_first) << "the container ran before its first dependency was up";
  EXPECT_GE(Clock::now() - t0, 1200ms);
  for (int i = 0; i < 100 && b.read_file("rootfs/marker").empty(); ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(b.read_file("rootfs/marker"), "started\n");
  EXPECT_GE(first.connections(), 1);
  EXPECT_GE(second.connections(), 1);
  EXPECT_GE(second.first_connection_at(), first.opened_at()) << "the second port was tried before the first was ready";
  std::string log = b.read_file("hook.log");
  std::string first_label = "tcp 127.0.0.1:" + std::to_string(first.port()) + " (first)";
  EXPECT_NE(log.find("waiting for " + first_label + " \u2014 attempt 2"), std::string::npos) << log;
  size_t ready_first = log.find("ready: " + first_label);
  size_t ready_second = log.find("ready: tcp 127.0.0.1:" + std::to_string(second.port()) + " (second)");
  ASSERT_NE(ready_first, std::string::npos) << log;
  ASSERT_NE(ready_second, std::string::npos) << log;
  EXPECT_LT(ready_first, ready_second);
  expect_nothing_left(b);
}

TEST(OciHookRunc, PortNeverOpenedFailsWithinTimeoutAndRuncReportsIt) {
  SKIP_WITHOUT_RUNC();
  GatedPort up, never;
  up.open();
  Bundle b("timeout");
  b.set_process({"sh", "-c", "echo started > /marker"});
  b.annotate("lifehook.io/wait-for", "[" + tcp_entry("up", up.port()) + "," + tcp_entry("redis", never.port()) + "]");
  b.annotate("lifehook.io/wait-for-period", "0.2");
  b.annotate("lifehook.io/wait-for-timeout", "2");
  b.add_hook("createRuntime");
  ProcResult r = b.run_detached();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_GE(r.seconds, 1.8);
  EXPECT_LT(r.seconds, 15.0);
  EXPECT_NE(r.err.find("lifehook.io/wait-for[1] tcp 127.0.0.1:" + std::to_string(never.port()) +
                       " (redis): not ready within 2 s"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(b.read_file("rootfs/marker"), "");
  EXPECT_NE(b.status(), "running");
  expect_nothing_left(b);
}

TEST(OciHookRunc, HookFinishesBeforeItsOciTimeout) {
  SKIP_WITHOUT_RUNC();
  GatedPort never;
  Bundle b("budget");
  b.set_process({"true"});
  b.annotate("lifehook.io/wait-for", "[" + tcp_entry("db", never.port()) + "]");
  b.annotate("lifehook.io/wait-for-timeout", "60");
  b.add_hook("createRuntime", 3);
  ProcResult r = b.run_detached();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(r.seconds, 10.0);
  EXPECT_NE(r.err.find("the hook's OCI timeout is 3 s"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("ran past specified timeout"), std::string::npos) << "runc had to kill the hook: " << r.err;
  expect_nothing_left(b);
}

TEST(OciHookRunc, BadAnnotationKeepsTheContainerFromStarting) {
  SKIP_WITHOUT_RUNC();
  Bundle b("badjson");
  b.set_process({"sh", "-c", "echo started > /marker"});
  b.annotate("lifehook.io/wait-for", "[{\"tcpSocket\": {\"port\": 1}");
  b.add_hook("createRuntime");
  ProcResult r = b.run_detached();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("lifehook.io/wait-for: not valid JSON: parse error"), std::string::npos) << r.err;
  EXPECT_EQ(b.read_file("rootfs/marker"), "");
  expect_nothing_left(b);
}

TEST(OciHookRunc, PostStartExecRunsInsideTheContainer) {
  SKIP_WITHOUT_RUNC();
  Bundle b("poststart");
  b.set_process({"sleep", "30"});
  std::string host_marker = "/lifehook-poststart-" + b.id();
  b.annotate(
      "lifehook.io/post-start",
      json{{"exec",
            {{"command", {"sh", "-c", "hostname > " + host_marker + "; echo $LIFEHOOK_TEST_ENV >> " + host_marker}}}}}
          .dump());
  b.annotate("lifehook.io/log", b.path("hook.log"));
  b.add_hook("poststart", 20);
  ProcResult r = b.run_detached();
  EXPECT_EQ(r.exit_code, 0) << r.err << "\nlog: " << b.read_file("hook.log");
  // Written at the container's root, with its hostname and its process env: inside it.
  EXPECT_EQ(b.read_file("rootfs" + host_marker), "lhoh-inside\nfrom-config\n") << b.read_file("hook.log");
  EXPECT_FALSE(std::filesystem::exists(host_marker)) << "the exec ran on the host";
  EXPECT_EQ(b.status(), "running");
  b.runc({"delete", "-f", b.id()});
  expect_nothing_left(b);
}

TEST(OciHookRunc, FailingPostStartStopsTheContainer) {
  SKIP_WITHOUT_RUNC();
  Bundle b("poststartfail");
  b.set_process({"sleep", "30"});
  b.annotate("lifehook.io/post-start", R"({"exec":{"command":["sh","-c","echo no config >&2; exit 3"]}})");
  b.add_hook("poststart", 20);
  ProcResult r = b.run_detached();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("lifehook.io/post-start exec [sh -c echo no config >&2; exit 3]: failure"), std::string::npos)
      << r.err;
  EXPECT_NE(b.status(), "running");
  expect_nothing_left(b);
}

TEST(OciHookRunc, HangingPostStartIsCutAtTheHookBudgetAndLeavesNothing) {
  SKIP_WITHOUT_RUNC();
  Bundle b("poststarthang");
  b.set_process({"sleep", "30"});
  std::string tag = "hang-" + b.id();
  b.annotate("lifehook.io/post-start", json{{"exec", {{"command", {"sh", "-c", "sleep 30; echo " + tag}}}}}.dump());
  b.add_hook("poststart", 3);
  ProcResult r = b.run_detached();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_LT(r.seconds, 10.0);
  EXPECT_NE(r.err.find("lifehook.io/post-start exec [sh -c sleep 30; echo " + tag + "]: timeout"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("ran past specified timeout"), std::string::npos) << "runc had to kill the hook: " << r.err;
  EXPECT_NE(b.status(), "running");
  expect_nothing_left(b);
}

TEST(OciHookRunc, PostStopHitsLoopbackHttpServer) {
  SKIP_WITHOUT_RUNC();
  HttpRecorder server;
  Bundle b("poststop");
  b.set_process({"true"});
  b.annotate("lifehook.io/post-stop",
             json{{"httpGet", {{"port", server.port()}, {"path", "/stopped?container=" + b.id()}}}}.dump());
  b.add_hook("poststop", 20);
  EXPECT_TRUE(server.request_lines().empty());
  ProcResult r = b.run_foreground();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(server.wait_for("GET /stopped?container=" + b.id() + " HTTP/1.1", 5s));
  EXPECT_EQ(server.request_lines().size(), 1u);
  expect_nothing_left(b);
}

}  // namespace
}  // namespace ocihook_test
