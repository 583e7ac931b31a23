// The pod lifecycle (issue 3) on real runc containers (issue 5), through the public pod ABI only,
// with options {"driver": "oci", "rootfs": "host"} and a private runtime root per test: init
// containers in order and retried with backoff, postStart failure restarting the container,
// preStop before the stop signal, grace and SIGKILL timings, exact exit codes, the article's
// httpd scenario, and nothing left behind after 100 create/destroy cycles.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "oci_pod_fixture.hpp"

namespace lifehook::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using podtest::Clock;
using podtest::container;
using podtest::ms_since;
using podtest::pod_json;

// A container that keeps running until SIGTERM, then exits 0.
json until_term(const std::string& name) { return container(name, "trap 'exit 0' TERM; while :; do sleep 0.05; done"); }

json exec_hook(const std::string& script) { return {{"exec", {{"command", {"sh", "-c", script}}}}}; }

// True when `want` appears in `seen` in this order (other values may come in between).
bool in_order(const std::vector<std::string>& seen, const std::vector<std::string>& want) {
  size_t i = 0;
  for (const auto& s : seen)
    if (i < want.size() && s == want[i]) ++i;
  return i == want.size();
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " → ") + s;
  return out;
}

const json& state_of(const json& status, const char* list, size_t i) { return status[list][i]["state"]; }

// The article's "wait for mysql, then redis" on runc: the init containers wait for ports of the
// POD network (served by the test from inside the sandbox's namespace), strictly one after the other.
TEST(OciPodLifecycle, InitContainersRunStrictlyInOrder) {
  SKIP_WITHOUT_RUNC();
  OciPodDirs dirs;
  const std::string name = "ocipod-init";
  {
    podtest::Ctx c;
    json init = json::array(
        {container("init-mysql", "until busybox wget -q -O /dev/null http://127.0.0.1:13306/; do sleep 0.1; done"),
         container("init-redis", "until busybox wget -q -O /dev/null http://127.0.0.1:16379/; do sleep 0.1; done")});
    json app = until_term("app");
    app["lifecycle"] = {{"postStart", exec_hook("sleep 0.3")}};
    podtest::Pod pod(c.ctx, pod_json(name, json::array({app}), init), dirs.options());
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(
        pod.poll([](const json& s) { return s["initContainerStatuses"][0]["state"].contains("running"); }, 20000));
    EXPECT_EQ(pod.status()["display"]["status"], "Init:0/2");
    std::this_thread::sleep_for(800ms);  // init-mysql keeps waiting; init-redis must not start meanwhile
    EXPECT_EQ(pod.events.count("Started:init-redis"), 0u);
    EXPECT_TRUE(state_of(pod.status(), "initContainerStatuses", 0).contains("running"));

    NetnsHttpResponder mysql(dirs.sandbox_netns(), 13306);
    ASSERT_EQ(mysql.error(), "");
    ASSERT_TRUE(pod.poll_column("Init:1/2", 20000)) << joined(pod.columns);
    json s = pod.status();
    EXPECT_EQ(state_of(s, "initContainerStatuses", 0)["terminated"]["exitCode"], 0);
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(pod.status()["display"]["status"], "Init:1/2");
    EXPECT_EQ(pod.events.count("Started:app"), 0u);

    NetnsHttpResponder redis(dirs.sandbox_netns(), 16379);
    ASSERT_EQ(redis.error(), "");
    ASSERT_TRUE(pod.poll_column("Running", 20000)) << joined(pod.columns);
    EXPECT_TRUE(in_order(pod.columns, {"Init:0/2", "Init:1/2", "PodInitializing", "Running"})) << joined(pod.columns);
    EXPECT_TRUE(in_order(pod.events.reasons(), {"Started:init-mysql", "Started:init-redis", "Started:app"}))
        << joined(pod.events.reasons());
    EXPECT_EQ(pod.events.count("Started:init-mysql"), 1u) << "an init container that succeeded is never re-run";

    ASSERT_EQ(lifehook_pod_terminate(pod.pod, 5000), LIFEHOOK_OK);
    EXPECT_EQ(pod.status()["containerStatuses"][0]["state"]["terminated"]["exitCode"], 0);
  }
  EXPECT_EQ(dirs.leftovers(name), "");
}

// An init container that fails is restarted with crash-loop backoff (first restart at once, then
// backoffInitialMs, doubling) until it succeeds; the main container waits for it.
TEST(OciPodLifecycle, FailingInitContainerIsRetriedWithBackoff) {
  SKIP_WITHOUT_RUNC();
  OciPodDirs dirs;
  const std::string name = "ocipod-initretry";
  {
    podtest::Ctx c;
    json init = json::array({container("init-db", "busybox wget -q -O /dev/null http://127.0.0.1:13306/ || exit 1")});
    podtest::Pod pod(c.ctx, pod_json(name, json::array({until_term("app")}), init),
                     dirs.options({{"backoffInitialMs", 400}}));
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(pod.poll([](const json& s) { return s["initContainerStatuses"][0]["restartCount"] >= 3; }, 20000))
        << pod.status().dump();
    EXPECT_TRUE(std::any_of(pod.columns.begin(), pod.columns.end(), [](const std::string& col) {
      return col == "Init:CrashLoopBackOff" || col == "Init:Error";
    })) << joined(pod.columns);
    EXPECT_GE(events_of(pod.events, "BackOff", "init-db").size(), 1u);
    EXPECT_EQ(pod.events.count("Started:app"), 0u) << "no main container before the init container succeeded";
    // Starts 2 → 3 are one backoff (400 ms) apart at least, 3 → 4 two (800 ms): measured from the exit,
    // and the container runs a little, so the gaps between starts are at least that.
    auto starts = events_of(pod.events, "Started", "init-db");
    ASSERT_GE(starts.size(), 3u);
    int64_t gap23 = event_ms_of_day(starts[2]) - event_ms_of_day(starts[1]);
    EXPECT_GE(gap23, 400 - 20) << starts[1].dump() << starts[2].dump();
    EXPECT_LT(gap23, 400 + 3000);
    if (starts.size() >= 4) {
      EXPECT_GE(event_ms_of_day(starts[3]) - event_ms_of_day(starts[2]), 800 - 20);
    }

    NetnsHttpResponder db(dirs.sandbox_netns(), 13306);
    ASSERT_EQ(db.error(), "");
    ASSERT_TRUE(pod.poll_column("Running", 20000)) << joined(pod.columns);
    json s = pod.status();
    EXPECT_EQ(state_of(s, "initContainerStatuses", 0)["terminated"]["exitCode"], 0);
    EXPECT_GE(s["initContainerStatuses"][0]["restartCount"], 3);
    EXPECT_EQ(s["initContainerStatuses"][0]["lastState"]["terminated"]["exitCode"], 1);
  }
  EXPECT_EQ(dirs.leftovers(name), "");
}

// postStart (exec inside the runc container) fails: FailedPostStartHook, the container is killed
// (its stop signal: this one exits 0 on TERM) and started again as a new runc container.
TEST(OciPodLifecycle, PostStartFailureKillsAndRestartsTheContainer) {
  SKIP_WITHOUT_RUNC();
  OciPodDirs dirs;
  const std::string name = "ocipod-poststart";
  {
    podtest::Ctx c;
    json app = until_term("app");
    // Runs inside the container: /tmp is the container's private tmpfs, so it fails again only if
    // every restart is a new container (a reused one would find /tmp/seen and succeed).
    app["lifecycle"] = {{"postStart", exec_hook("if [ -e /tmp/seen ]; then exit 0; fi; touch /tmp/seen; exit 7")}};
    podtest::Pod pod(c.ctx, pod_json(name, json::array({app})), dirs.options());
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(pod.poll([](const json& s) { return s["containerStatuses"][0]["restartCount"] >= 2; }, 20000))
        << pod.status().dump();
    auto r = pod.events.reasons();
    EXPECT_TRUE(in_order(
        r, {"Started:app", "FailedPostStartHook:app", "Killing:app", "Started:app", "FailedPostStartHook:app"}))
        << joined(r);
    json s = pod.status();
    EXPECT_EQ(s["containerStatuses"][0]["lastState"]["terminated"]["exitCode"], 0) << s.dump();
    EXPECT_TRUE(std::find(pod.columns.begin(), pod.columns.end(), "PostStartHookError") != pod.columns.end() ||
                std::find(pod.columns.begin(), pod.columns.end(), "CrashLoopBackOff") != pod.columns.end())
        << joined(pod.columns);
    EXPECT_EQ(pod.status()["containerStatuses"][0]["ready"], false);
  }
  EXPECT_EQ(dirs.leftovers(name), "");
}

// preStop runs (inside the container) before the stop signal: the TERM trap exits 0 only if the
// preStop's marker is already there.
TEST(OciPodLifecycle, PreStopRunsBeforeTheStopSignal) {
  SKIP_WITHOUT_RUNC();
  OciPodDirs dirs;
  const std::string name = "ocipod-prestop";
  {
    podtest::Ctx c;
    json app = container("app", "trap '[ -e /tmp/prestop ] && exit 0; exit 9' TERM; while :; do sleep 0.05; done");
    app["lifecycle"] = {{"preStop", exec_hook("sleep 0.3; touch /tmp/prestop")}};
    podtest::Pod pod(c.ctx, pod_json(name, json::array({app})), dirs.options());
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(pod.poll_column("Running", 20000)) << joined(pod.columns);
    std::this_thread::sleep_for(100ms);  // the trap is installed
    ASSERT_EQ(lifehook_pod_terminate(pod.pod, 10000), LIFEHOOK_OK);
    json s = pod.status();
    EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["exitCode"], 0) << s.dump();
    EXPECT_EQ(s["phase"], "Succeeded");
    EXPECT_EQ(pod.events.count("FailedPreStopHook:app"), 0u);
  }
  EXPECT_EQ(dirs.leftovers(name), "");
}

// Sidecars in runc containers: started before the main container, stopped after it on termination,
// in reverse declaration order (kubernetes#120620).
TEST(OciPodLifecycle, SidecarsStartFirstAndStopLastInReverseOrder) {
  SKIP_WITHOUT_RUNC();
  OciPodDirs dirs;
  const std::string name = "ocipod-sidecars";
  {
    podtest::Ctx c;
    json s1 = until_term("s1"), s2 = until_term("s2");
    s1["restartPolicy"] = s2["restartPolicy"] = "Always";
    podtest::Pod pod(c.ctx, pod_json(name, json::array({until_term("main")}), json::array({s1, s2})), dirs.options());
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(pod.poll([](const json& s) { return s["display"]["ready"] == "3/3"; }, 30000)) << joined(pod.columns);
    EXPECT_EQ(pod.status()["display"]["status"], "Running");
    std::this_thread::sleep_for(100ms);  // the traps are installed
    ASSERT_EQ(lifehook_pod_terminate(pod.pod, 20000), LIFEHOOK_OK);
    std::vector<std::string> started, killing;
    for (const auto& e : pod.events.snapshot()) {
      if (e["reason"] == "Started") started.push_back(e["container"]);
      if (e["reason"] == "Killing") killing.push_back(e["container"]);
    }
    EXPECT_EQ(started, (std::vector<std::string>{"s1", "s2", "main"}));
    EXPECT_EQ(killing, (std::vector<std::string>{"main", "s2", "s1"}));
    json s = pod.status();
    auto finished = [&](const char* list, size_t i) {
      return s[list][i]["state"]["terminated"]["finishedAt"].get<std::string>();
    };
    EXPECT_LE(finished("containerStatuses", 0), finished("initContainerStatuses", 1)) << s.dump();
    EXPECT_LE(finished("initContainerStatuses", 1), finished("initContainerStatuses", 0)) << s.dump();
  }
  EXPECT_EQ(dirs.leftovers(name), "");
}

// preStop longer than the grace: the hook is killed at the deadline, the stop signal goes out then
// (the container reports it over the pod network), SIGKILL 2 s later (the kubelet's floor).
TEST(OciPodLifecycle, PreStopLongerThanGraceSignalAtDeadlineKill2sLater) {
  SKIP_WITHOUT_RUNC();
  OciPodDirs dirs;
  const std::string name = "ocipod-grace";
  {
    podtest::Ctx c;
    json app = container("app",
                         "trap 'busybox wget -q -O /dev/null http://127.0.0.1:18090/term' TERM; "
                         "while :; do sleep 0.05; done");
    app["lifecycle"] = {{"preStop", exec_hook("sleep 30")}};
    podtest::Pod pod(c.ctx, pod_json(name, json::array({app}), json::array(), {{"terminationGracePeriodSeconds", 1}}),
                     dirs.options());
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(pod.poll_column("Running", 20000)) << joined(pod.columns);
    NetnsHttpResponder witness(dirs.sandbox_netns(), 18090);
    ASSERT_EQ(witness.error(), "");
    std::this_thread::sleep_for(100ms);
    auto t0 = Clock::now();
    ASSERT_EQ(lifehook_pod_terminate(pod.pod, -1), LIFEHOOK_OK);
    double total = ms_since(t0);
    auto term = witness.first("/term");
    ASSERT_TRUE(term) << "the container never saw SIGTERM";
    double term_at = std::chrono::duration<double, std::milli>(*term - t0).count();
    std::printf("runc, preStop > grace 1 s: SIGTERM seen at %.0f ms, terminate returned at %.0f ms\n", term_at, total);
    EXPECT_GE(term_at, 1000 - 10);
    EXPECT_LT(term_at, 1000 + 1500);
    EXPECT_GE(total, 3000 - 10);
    EXPECT_LT(total, 3000 + 1500);
    json s = pod.status();
    EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["exitCode"], 137) << s.dump();
    EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["signal"], 9);
    EXPECT_EQ(pod.events.count("FailedPreStopHook:app"), 1u);
  }
  EXPECT_EQ(dirs.leftovers(name), "");
}

// A container that ignores SIGTERM is SIGKILLed at the deadline (grace 3 s > the 2 s floor).
TEST(OciPodLifecycle, TermIgnoringContainerIsKilledAtTheDeadline) {
  SKIP_WITHOUT_RUNC();
  OciPodDirs dirs;
  const std::string name = "ocipod-stubborn";
  {
    podtest::Ctx c;
    podtest::Pod pod(c.ctx,
                     pod_json(name, json::array({container("app", "trap '' TERM; while :; do sleep 0.05; done")}),
                              json::array(), {{"terminationGracePeriodSeconds", 3}}),
                     dirs.options());
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(pod.poll_column("Running", 20000)) << joined(pod.columns);
    std::this_thread::sleep_for(100ms);
    auto t0 = Clock::now();
    ASSERT_EQ(lifehook_pod_terminate(pod.pod, -1), LIFEHOOK_OK);
    double total = ms_since(t0);
    std::printf("runc, TERM-ignoring container, grace 3000 ms: killed and gone after %.0f ms\n", total);
    EXPECT_GE(total, 3000 - 10);
    EXPECT_LT(total, 3000 + 1500);
    json s = pod.status();
    EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["exitCode"], 137) << s.dump();
    EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["signal"], 9);
  }
  EXPECT_EQ(dirs.leftovers(name), "");
}

bool kernel_at_least(int major, int minor) {
  utsname u{};
  int a = 0, b = 0;
  return ::uname(&u) == 0 && std::sscanf(u.release, "%d.%d", &a, &b) == 2 && (a > major || (a == major && b >= minor));
}

// Exit codes are the container's own; a container killed by a signal reports 128+n and n.
TEST(OciPodLifecycle, ExitCodesAreExact) {
  SKIP_WITHOUT_RUNC();
  OciPodDirs dirs;
  const std::string name = "ocipod-exit";
  {
    podtest::Ctx c;
    podtest::Pod pod(c.ctx,
                     pod_json(name,
                              json::array({container("three", "exit 3"), container("zero", "true"),
                                           container("stubborn", "trap '' TERM; while :; do sleep 0.05; done"),
                                           container("onethirty", "sleep 0.2; exit 130")}),
                              json::array(), {{"restartPolicy", "Never"}}),
                     dirs.options());
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(pod.poll(
        [](const json& s) {
          return s["containerStatuses"][0]["state"].contains("terminated") &&
                 s["containerStatuses"][1]["state"].contains("terminated") &&
                 s["containerStatuses"][2]["state"].contains("running") &&
                 s["containerStatuses"][3]["state"].contains("terminated");
        },
        20000))
        << pod.status().dump();
    json s = pod.status();
    EXPECT_EQ(state_of(s, "containerStatuses", 0)["terminated"]["exitCode"], 3);
    EXPECT_EQ(state_of(s, "containerStatuses", 0)["terminated"]["signal"], 0);
    EXPECT_EQ(state_of(s, "containerStatuses", 0)["terminated"]["reason"], "Error");
    EXPECT_EQ(state_of(s, "containerStatuses", 1)["terminated"]["exitCode"], 0);
    EXPECT_EQ(state_of(s, "containerStatuses", 1)["terminated"]["reason"], "Completed");
    // `exit 130` is not "killed by SIGINT", although runc's own exit code says 130 for both: the
    // driver reads the init's wait status from its pidfd (Linux 6.15+).
    if (kernel_at_least(6, 15)) {
      EXPECT_EQ(state_of(s, "containerStatuses", 3)["terminated"]["exitCode"], 130);
      EXPECT_EQ(state_of(s, "containerStatuses", 3)["terminated"]["signal"], 0) << s.dump();
    }
    ASSERT_EQ(lifehook_pod_terminate(pod.pod, 0), LIFEHOOK_OK);
    s = pod.status();
    EXPECT_EQ(state_of(s, "containerStatuses", 2)["terminated"]["exitCode"], 128 + SIGKILL) << s.dump();
    EXPECT_EQ(state_of(s, "containerStatuses", 2)["terminated"]["signal"], SIGKILL);
    EXPECT_EQ(s["phase"], "Failed");
  }
  EXPECT_EQ(dirs.leftovers(name), "");
}

// GET http://127.0.0.1:port/path from inside a network namespace (target.netns), through lifehook_run.
json http_get_in(lifehook_ctx* ctx, const std::string& netns, int port, const std::string& path) {
  json req = {{"handler", {{"httpGet", {{"host", "127.0.0.1"}, {"port", port}, {"path", path}}}}}, {"timeoutMs", 2000}};
  if (!netns.empty()) req["target"] = {{"netns", netns}};
  char* result = nullptr;
  char* error = nullptr;
  int rc = lifehook_run(ctx, req.dump().c_str(), &result, &error);
  json out =
      rc == LIFEHOOK_OK && result ? json::parse(result) : json{{"outcome", "rc"}, {"message", error ? error : ""}};
  lifehook_free(result);
  lifehook_free(error);
  return out;
}

// The article's scenario (examples/pod-hook-exec-oci.yaml): busybox httpd in a runc container, a
// postStart exec hook writes its index.html inside the container, an httpGet in the pod network
// (a second container's postStart hook, and the test's own request into the namespace) gets
// "postStart...", preStop runs before the stop signal, and the TERM-ignoring server is SIGKILLed
// at the deadline.
TEST(OciPodLifecycle, ArticleScenarioHttpdHooksInRunc) {
  SKIP_WITHOUT_RUNC();
  OciPodDirs dirs;
  const std::string name = "ocipod-article";
  {
    podtest::Ctx c;
    json web = {{"name", "web"},
                {"image", "busybox"},
                {"command", {"/bin/busybox", "sh", "-c"}},
                {"args",
                 {"mkdir -p /tmp/www; /bin/busybox httpd -f -p 127.0.0.1:18082 -h /tmp/www & "
                  "trap 'cp /tmp/www/index.html /tmp/www/at-term.html' TERM; "
                  "while :; do wait; sleep 0.1; done"}},
                {"ports", {{{"name", "http"}, {"containerPort", 18082}}}},
                {"lifecycle",
                 {{"postStart", exec_hook("mkdir -p /tmp/www && echo postStart... > /tmp/www/index.html")},
                  {"preStop", exec_hook("echo preStop... > /tmp/www/index.html")}}}};
    json client = container("client", "trap 'exit 0' TERM; while :; do sleep 0.1; done");
    client["lifecycle"] = {
        {"postStart", {{"httpGet", {{"host", "127.0.0.1"}, {"port", 18082}, {"path", "/index.html"}}}}}};
    podtest::Pod pod(c.ctx,
                     pod_json(name, json::array({web, client}), json::array(), {{"terminationGracePeriodSeconds", 3}}),
                     dirs.options());
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(pod.poll([](const json& s) { return s["display"]["ready"] == "2/2"; }, 20000))
        << joined(pod.events.reasons()) << pod.status().dump();
    EXPECT_EQ(pod.events.count("FailedPostStartHook:client"), 0u) << "the httpGet hook ran in the pod network";

    int pid = dirs.container_pid("-web-");
    ASSERT_GT(pid, 0);
    std::string netns = "/proc/" + std::to_string(pid) + "/ns/net";
    json got = http_get_in(c.ctx, netns, 18082, "/index.html");
    EXPECT_EQ(got["outcome"], "success") << got.dump();
    EXPECT_EQ(got.value("output", ""), "postStart...\n") << got.dump();
    EXPECT_NE(http_get_in(c.ctx, "", 18082, "/index.html")["outcome"], "success")
        << "the host's loopback is another network";

    auto t0 = Clock::now();
    std::thread terminate([&] { EXPECT_EQ(lifehook_pod_terminate(pod.pod, -1), LIFEHOOK_OK); });
    json at_term;
    while (ms_since(t0) < 2500) {  // web ignores SIGTERM: it lives until the deadline (3 s)
      at_term = http_get_in(c.ctx, netns, 18082, "/at-term.html");
      if (at_term["outcome"] == "success") break;
      std::this_thread::sleep_for(50ms);
    }
    terminate.join();
    double total = ms_since(t0);
    EXPECT_EQ(at_term.value("output", ""), "preStop...\n") << "index.html at SIGTERM: " << at_term.dump();
    EXPECT_GE(total, 3000 - 10);
    EXPECT_LT(total, 3000 + 1500);
    json s = pod.status();
    EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["exitCode"], 137) << s.dump();
    EXPECT_EQ(s["containerStatuses"][0]["state"]["terminated"]["signal"], SIGKILL);
    EXPECT_EQ(s["containerStatuses"][1]["state"]["terminated"]["exitCode"], 0);
    EXPECT_EQ(pod.events.count("FailedPreStopHook:web"), 0u);
  }
  EXPECT_EQ(dirs.leftovers(name), "");
}

// 100 pods created, started, run to completion of their one container and destroyed, one after the
// other: nothing is left (runc list, runtime root, bundles, sandbox mounts, processes).
TEST(OciPodLifecycle, HundredCreateDestroyCyclesLeaveNothing) {
  SKIP_WITHOUT_RUNC();
  OciPodDirs dirs;
  const std::string name = "ocipod-cycle";
  podtest::Ctx c;
  auto t0 = Clock::now();
  for (int i = 0; i < 100; ++i) {
    podtest::Pod pod(c.ctx,
                     pod_json(name, json::array({container("a", "true")}), json::array(), {{"restartPolicy", "Never"}}),
                     dirs.options());
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_EQ(lifehook_pod_wait(pod.pod, 20000), LIFEHOOK_OK) << "cycle " << i << ": " << pod.status().dump() << "\n"
                                                              << dirs.snapshot();
    ASSERT_EQ(pod.status()["phase"], "Succeeded") << "cycle " << i;
  }
  double total = ms_since(t0);
  std::printf("100 create/start/exit/destroy cycles on runc: %.0f ms (%.0f ms each)\n", total, total / 100);
  EXPECT_EQ(dirs.leftovers(name), "");
}

// Destroying pods with containers still running (the common case after a failed test): every
// runc container is killed and deleted, the sandbox is gone.
TEST(OciPodLifecycle, DestroyWithRunningContainersLeavesNothing) {
  SKIP_WITHOUT_RUNC();
  OciPodDirs dirs;
  const std::string name = "ocipod-destroy";
  podtest::Ctx c;
  for (int i = 0; i < 5; ++i) {
    podtest::Pod pod(
        c.ctx,
        pod_json(name, json::array({container("a", "trap '' TERM; while :; do sleep 0.05; done"), until_term("b")})),
        dirs.options());
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_TRUE(pod.poll_column("Running", 20000)) << joined(pod.columns);
  }
  EXPECT_EQ(dirs.leftovers(name), "");
}

}  // namespace
}  // namespace lifehook::testing
