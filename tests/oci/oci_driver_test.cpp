// The oci driver on real runc, and on crun (runtime option): containers of one pod share the pod
// network (loopback), exec runs inside a container, stop signals go through the runtime, exit codes
// are exact, and nothing is left in the runtime's list, in the state directory or as a namespace
// mount afterwards.
#include "plugin/drivers/oci_driver.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "container_exec_helpers.hpp"
#include "oci_fixture.hpp"
#include "plugin/context/context.hpp"
#include "plugin/drivers/oci_bundle.hpp"
#include "plugin/pod/spec.hpp"

namespace lifehook::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// One pod on the oci driver, driven the way the engine drives it.
struct PodUnderTest {
  Context ctx{ContextOptions{}};
  pod::PodSpec spec;
  std::string state_dir;
  std::unique_ptr<drivers::Driver> driver;
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::pair<int, int>> exits;

  explicit PodUnderTest(const std::string& pod_json, const std::string& runtime = "runc",
                        const std::string& root = test_runtime_root())
      : spec(pod::parse_pod(pod_json)) {
    state_dir = fs::path(test_runtime_root()).parent_path().string() + "/pods";
    drivers::DriverEnv env{ctx, spec, [this](const std::string& name, drivers::InstanceId, int code, int sig) {
                             std::lock_guard lock(mu);
                             exits[name] = {code, sig};
                             cv.notify_all();
                           }};
    driver = drivers::make_oci_driver(env, {{"runtime", runtime}, {"root", root}, {"stateDir", state_dir}});
    driver->validate(spec);
  }

  drivers::StartInfo start(const pod::ContainerSpec& c) {
    // Shared with the callback, which may come after a failed wait.
    struct Outcome {
      std::optional<drivers::StartInfo> info;
      std::string error;
      bool done = false;
    };
    auto out = std::make_shared<Outcome>();
    driver->start(c, 1, [this, out](std::optional<drivers::StartInfo> i, std::string e) {
      std::lock_guard lock(mu);
      out->info = std::move(i), out->error = std::move(e), out->done = true;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 30s, [&] { return out->done; })) << "start of " << c.name;
    EXPECT_TRUE(out->info) << out->error;
    return out->info.value_or(drivers::StartInfo{});
  }

  std::optional<std::pair<int, int>> wait_exit(const std::string& name, std::chrono::milliseconds limit) {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, limit, [&] { return exits.count(name) > 0; })) return std::nullopt;
    return exits[name];
  }
};

std::string runc_list() { return run_command("runc --root " + test_runtime_root() + " list -q"); }

// crun through tests/ecosystem/crun-private-ns: crun 1.8 refuses this machine's hybrid cgroup layout
// (v1 controllers plus /sys/fs/cgroup/unified), so the script runs it in a private mount namespace
// without that mount, where it sees plain cgroup v1 (the host's mounts are untouched); elsewhere it
// is crun as is. Its own root, under the test binary's.
const std::string kCrun = LIFEHOOK_CRUN_PRIVATE_NS;
std::string crun_root() { return test_runtime_root() + "-crun"; }
std::string crun_list() { return run_command(kCrun + " --root " + crun_root() + " list -q 2>/dev/null"); }

// Removes crun's root when a test ends, whatever happened.
struct CrunRootCleanup {
  ~CrunRootCleanup() {
    std::error_code ec;
    fs::remove_all(crun_root(), ec);
  }
};

#define SKIP_WITHOUT_CRUN()                                                                          \
  do {                                                                                               \
    SKIP_WITHOUT_RUNC();                                                                             \
    if (run_command("command -v crun") == "") GTEST_SKIP() << "crun is not installed (Debian crun)"; \
  } while (0)

const char* kTwoContainerPod = R"({"metadata": {"name": "web", "uid": "u1"}, "spec": {"containers": [
  {"name": "server", "command": ["busybox", "sh", "-c",
     "echo hello > /tmp/index.html; busybox httpd -p 127.0.0.1:8080 -h /tmp; trap 'exit 42' TERM; while :; do sleep 0.1; done"]},
  {"name": "client", "command": ["busybox", "sh", "-c",
     "for i in $(busybox seq 1 50); do busybox wget -q -O - http://127.0.0.1:8080/index.html && exit 7; sleep 0.1; done; exit 1"]},
  {"name": "stubborn", "command": ["busybox", "sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"]}
]}})";

// The two-container pod on `runtime` with its root; `list` is what the runtime still lists.
void pod_network_exec_stop_and_cleanup(const std::string& runtime, const std::string& root,
                                       const std::function<std::string()>& list) {
  std::string state_dir;
  {
    PodUnderTest pod(kTwoContainerPod, runtime, root);
    state_dir = pod.state_dir;
    drivers::StartInfo server = pod.start(pod.spec.containers[0]);
    ASSERT_TRUE(server.pid);
    EXPECT_EQ(server.exec_mode, "container");
    EXPECT_FALSE(server.bundle.empty());

    // The client reaches the server on the pod's 127.0.0.1 (shared network namespace) and exits 7.
    pod.start(pod.spec.containers[1]);
    auto client = pod.wait_exit("client", 20s);
    ASSERT_TRUE(client);
    EXPECT_EQ(client->first, 7);
    EXPECT_EQ(client->second, 0);

    // An exec hook inside the server container (the article's postStart), seen over the pod network.
    ExecOutcome hook =
        exec_in_container(*server.pid, server.bundle, {"busybox", "sh", "-c", "echo postStart... > /tmp/index.html"});
    EXPECT_EQ(hook.exit_code, 0) << hook.out;
    ExecOutcome get = exec_in_container(*server.pid, server.bundle,
                                        {"busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/index.html"});
    EXPECT_EQ(get.out, "postStart...\n");
    // The host's loopback is another network: nothing listens on 8080 there.
    EXPECT_NE(run_command("busybox wget -q -T 1 -O - http://127.0.0.1:8080/index.html 2>/dev/null"), "postStart...\n");

    // Stop through the runtime: the container's init handles SIGTERM and its exit code is exact.
    pod.driver->signal("server", 1, SIGTERM);
    auto server_exit = pod.wait_exit("server", 10s);
    ASSERT_TRUE(server_exit);
    EXPECT_EQ(server_exit->first, 42);
    EXPECT_EQ(server_exit->second, 0);

    // A TERM-ignoring container survives the stop signal and dies by SIGKILL.
    pod.start(pod.spec.containers[2]);
    pod.driver->signal("stubborn", 1, SIGTERM);
    EXPECT_FALSE(pod.wait_exit("stubborn", 500ms));
    pod.driver->kill("stubborn", 1);
    auto stubborn = pod.wait_exit("stubborn", 10s);
    ASSERT_TRUE(stubborn);
    EXPECT_EQ(stubborn->first, 128 + SIGKILL);
    EXPECT_EQ(stubborn->second, SIGKILL);
    for (const char* name : {"server", "client", "stubborn"}) pod.driver->remove(name, 1);
  }
  EXPECT_EQ(list(), "");
  std::error_code ec;
  EXPECT_TRUE(!fs::exists(state_dir, ec) || fs::is_empty(state_dir, ec)) << "left in " << state_dir;
  EXPECT_EQ(run_command("grep -c " + shell_quote(state_dir) + " /proc/self/mountinfo"), "0\n");
}

TEST(OciDriver, PodNetworkExecInsideStopAndCleanup) {
  SKIP_WITHOUT_RUNC();
  pod_network_exec_stop_and_cleanup("runc", test_runtime_root(), runc_list);
}

// The same pod under crun: its state is <root>/<id>/status (no state.json) and its container init is
// a fork of `crun run` until it execs (no `runc init`), which the driver must both recognise.
TEST(OciDriver, PodNetworkExecInsideStopAndCleanupOnCrun) {
  SKIP_WITHOUT_CRUN();
  CrunRootCleanup cleanup;
  pod_network_exec_stop_and_cleanup(kCrun, crun_root(), crun_list);
}

TEST(OciDriver, RepeatedCreateAndDestroyLeavesNothing) {
  SKIP_WITHOUT_RUNC();
  std::string state_dir;
  for (int i = 0; i < 10; ++i) {
    PodUnderTest pod(R"({"metadata": {"name": "cycle"}, "spec": {"containers": [
      {"name": "a", "command": ["sleep", "100"]}, {"name": "b", "command": ["sh", "-c", "exit 3"]}]}})");
    state_dir = pod.state_dir;
    pod.start(pod.spec.containers[0]);
    pod.start(pod.spec.containers[1]);
    auto b = pod.wait_exit("b", 10s);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->first, 3);
    // destroyed with "a" still running
  }
  EXPECT_EQ(runc_list(), "");
  std::error_code ec;
  EXPECT_TRUE(!fs::exists(state_dir, ec) || fs::is_empty(state_dir, ec));
  EXPECT_EQ(run_command("grep -c " + shell_quote(state_dir) + " /proc/self/mountinfo"), "0\n");
}

// A program that cannot be exec'd is a failed start (never Started, then an exit), on both runtimes:
// crun tells it only in its --log (runc also says level=error on its stderr).
void start_failure_is_reported_and_cleaned_up(const std::string& runtime, const std::string& root,
                                              const std::function<std::string()>& list) {
  PodUnderTest pod(R"({"metadata": {"name": "bad"}, "spec": {"containers": [
    {"name": "a", "command": ["/no/such/program"]}]}})",
                   runtime, root);
  bool done = false;
  std::string error;
  pod.driver->start(pod.spec.containers[0], 1, [&](std::optional<drivers::StartInfo> info, std::string e) {
    std::lock_guard lock(pod.mu);
    done = true;
    error = info ? "" : e;
    pod.cv.notify_all();
  });
  std::unique_lock lock(pod.mu);
  ASSERT_TRUE(pod.cv.wait_for(lock, 30s, [&] { return done; }));
  EXPECT_NE(error.find("/no/such/program"), std::string::npos) << error;
  lock.unlock();
  EXPECT_EQ(list(), "");
}

TEST(OciDriver, StartFailureIsReportedAndCleanedUp) {
  SKIP_WITHOUT_RUNC();
  start_failure_is_reported_and_cleaned_up("runc", test_runtime_root(), runc_list);
}

TEST(OciDriver, StartFailureIsReportedAndCleanedUpOnCrun) {
  SKIP_WITHOUT_CRUN();
  CrunRootCleanup cleanup;
  start_failure_is_reported_and_cleaned_up(kCrun, crun_root(), crun_list);
}

TEST(OciDriver, OptionsErrorsNameTheField) {
  try {
    drivers::parse_oci_driver_options({{"network", "bridge"}});
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("options.network"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lifehook::testing
