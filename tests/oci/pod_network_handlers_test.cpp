// httpGet and tcpSocket from inside a real pod network: a runc container joins a pod sandbox
// (the oci driver's PodSandbox: its own network namespace with loopback up) and runs busybox
// httpd on the pod's 127.0.0.1 only; the handlers reach it through target.netns — both as
// /proc/<pid>/ns/net of the container and as the sandbox's namespace file the driver hands out —
// and without target.netns they do not (nothing listens on that port of the host). Last, the oci
// driver's own hooks: it fills target.netns, so a pod's httpGet hook on 127.0.0.1 reaches the pod.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>

#include "oci_fixture.hpp"
#include "plugin/drivers/oci_sandbox.hpp"
#include "tests/unit/api_support.hpp"
#include "tests/unit/pod_test_util.hpp"

namespace lifehook::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// lifehook_run of one request on a fresh context; the result document.
json run(const json& request) { return lifehook_test::Ctx().run(request.dump()); }

json http_get(int port, const std::string& netns) {
  json r = {{"handler", {{"httpGet", {{"port", port}, {"path", "/index.html"}}}}},
            {"target", {{"podIP", "127.0.0.1"}}},
            {"timeoutMs", 5000}};
  if (!netns.empty()) r["target"]["netns"] = netns;
  return run(r);
}

json tcp_socket(int port, const std::string& netns) {
  json r = {{"handler", {{"tcpSocket", {{"port", port}}}}}, {"target", {{"podIP", "127.0.0.1"}}}, {"timeoutMs", 5000}};
  if (!netns.empty()) r["target"]["netns"] = netns;
  return run(r);
}

TEST(PodNetworkHandlers, HttpGetAndTcpSocketReachAServerOnThePodsLoopback) {
  SKIP_WITHOUT_RUNC();
  static std::atomic<int> counter{0};
  std::string dir = fs::path(test_runtime_root()).parent_path().string() + "/netns-pod-" + std::to_string(counter++);
  auto sandbox = std::make_unique<drivers::PodSandbox>(dir + "/sandbox", "netpod");
  int port = lifehook_test::closed_port();
  int closed = port == 65535 ? port - 1 : port + 1;  // nothing listens there inside the pod

  BundleOptions opts;
  opts.args = {"httpd", "-f", "-p", "127.0.0.1:" + std::to_string(port), "-h", "/tmp"};
  opts.network_ns_path = sandbox->net();
  {
    RuncContainer c(opts);
    ASSERT_TRUE(c.ok()) << c.error();
    // The root is read-only inside; the bundle's rootfs is the same directory seen from the host.
    std::ofstream(c.bundle() + "/rootfs/tmp/index.html") << "served by busybox httpd in the pod\n";
    const std::string proc_netns = "/proc/" + std::to_string(c.pid()) + "/ns/net";

    json r;  // httpd is listening within milliseconds of the container start
    lifehook_test::eventually([&] { return (r = http_get(port, proc_netns)).value("outcome", "") == "success"; });
    EXPECT_EQ(r["outcome"], "success") << r.dump();
    EXPECT_EQ(r["httpStatus"], 200);
    EXPECT_EQ(r["output"], "served by busybox httpd in the pod\n");

    // The sandbox's own namespace file (what the oci driver puts into target.netns) is the same network.
    json s = http_get(port, sandbox->net());
    EXPECT_EQ(s["outcome"], "success") << s.dump();
    EXPECT_EQ(s["output"], "served by busybox httpd in the pod\n");

    json t = tcp_socket(port, proc_netns);
    EXPECT_EQ(t["outcome"], "success") << t.dump();
    json t_closed = tcp_socket(closed, proc_netns);
    EXPECT_EQ(t_closed["outcome"], "failure") << t_closed.dump();

    // From the host's network the pod's loopback is out of reach.
    json h = http_get(port, "");
    EXPECT_EQ(h["outcome"], "failure") << h.dump();
    json th = tcp_socket(port, "");
    EXPECT_EQ(th["outcome"], "failure") << th.dump();
  }
  // Once the pod sandbox is gone its namespace file is too: an error naming target.netns.
  std::string gone = sandbox->net();
  sandbox.reset();
  json e = http_get(port, gone);
  EXPECT_EQ(e["outcome"], "error") << e.dump();
  EXPECT_NE(e["message"].get<std::string>().find("target.netns: cannot enter " + gone), std::string::npos) << e.dump();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// Through the pod ABI: the oci driver fills target.netns, so a preStop httpGet hook on the pod's
// 127.0.0.1 reaches the container's server (nothing listens on that port of the host, where the
// hook would fail with FailedPreStopHook).
TEST(PodNetworkHandlers, TheOciDriversHooksRunInThePodNetwork) {
  SKIP_WITHOUT_RUNC();
  int port = lifehook_test::closed_port();
  json container = {
      {"name", "web"},
      // As pid 1 httpd would ignore SIGTERM; the shell ends on it, so the test does not wait out the grace.
      {"command",
       {"busybox", "sh", "-c",
        "trap 'exit 0' TERM; busybox httpd -f -p 127.0.0.1:" + std::to_string(port) + " -h /etc & wait"}},
      {"lifecycle", {{"preStop", {{"httpGet", {{"port", port}, {"path", "/passwd"}}}}}}}};
  json pod_spec = podtest::pod_json("netprestop", json::array({container}));
  std::string state = fs::path(test_runtime_root()).parent_path().string() + "/netprestop-state";
  json options = {{"driver", "oci"}, {"root", test_runtime_root()}, {"stateDir", state}, {"rootfs", "host"}};
  {
    podtest::Ctx ctx;
    podtest::Pod pod(ctx.ctx, pod_spec, options);
    ASSERT_NE(pod.pod, nullptr);
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(pod.poll_column("Running")) << pod.status().dump();
    // Wait until httpd listens on the pod's loopback (the sandbox's namespace file, as the driver has it).
    std::string netns = run_command("ls " + state + "/*/sandbox/netns 2>/dev/null");
    if (!netns.empty() && netns.back() == '\n') netns.pop_back();
    ASSERT_FALSE(netns.empty());
    lifehook_test::eventually([&] { return tcp_socket(port, netns).value("outcome", "") == "success"; });
    ASSERT_EQ(lifehook_pod_terminate(pod.pod, 5000), LIFEHOOK_OK);
    std::vector<std::string> reasons = pod.events.reasons();
    for (const auto& r : reasons) EXPECT_NE(r, "FailedPreStopHook:web") << pod.events.snapshot().back().dump();
    EXPECT_NE(std::find(reasons.begin(), reasons.end(), "Killing:web"), reasons.end());
  }
  std::error_code ec;
  fs::remove_all(state, ec);
}

}  // namespace
}  // namespace lifehook::testing
