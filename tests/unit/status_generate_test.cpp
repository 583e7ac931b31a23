// Status generation as pure functions of container states: the kubelet's conditions with their
// reasons and messages (pkg/kubelet/status/generate.go, generate_test.go), init readiness,
// lastTransitionTime, qosClass (pkg/apis/core/helper/qos), the hook failure wording.
#include <gtest/gtest.h>

#include "plugin/pod/events.hpp"
#include "plugin/pod/hooks.hpp"
#include "plugin/pod/qos.hpp"
#include "plugin/pod/spec.hpp"
#include "plugin/pod/status.hpp"
#include "status_test_util.hpp"

using namespace lifehook;
using namespace lifehook::pod;
using namespace statustest;

namespace {

PodSpec spec_of(const std::string& spec) {
  return parse_pod(R"({"metadata":{"name":"p","uid":"u1"},"spec":)" + spec + "}");
}

PodSpec two_init_one_main(const char* policy = "Always") {
  return spec_of(std::string(R"({"restartPolicy":")") + policy +
                 R"(","initContainers":[{"name":"init1","command":["true"]},{"name":"init2","command":["true"]}],
                     "containers":[{"name":"web","command":["true"]}]})");
}

struct View {
  PodSpec spec;
  PodView v;
  explicit View(PodSpec s, std::vector<ContainerStatus> init, std::vector<ContainerStatus> main, bool terminal = false)
      : spec(std::move(s)) {
    v.spec = &spec;
    v.init = std::move(init);
    v.main = std::move(main);
    v.terminal = terminal;
    v.start_time = std::chrono::system_clock::now();
  }
  json status() const { return build_status(v, std::chrono::system_clock::now()); }
};

}  // namespace

TEST(StatusGenerate, ConditionsInTheKubeletsOrder) {
  View p(two_init_one_main(), {waiting("PodInitializing"), waiting("PodInitializing")}, {waiting("PodInitializing")});
  std::vector<std::string> types;
  json s = p.status();
  for (const auto& c : s["conditions"]) {
    types.push_back(c["type"]);
    EXPECT_TRUE(c.contains("lastTransitionTime")) << c;
  }
  EXPECT_EQ(types, (std::vector<std::string>{"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                             "PodScheduled"}));
}

TEST(StatusGenerate, InitializingListsEveryIncompleteInitContainer) {
  View p(two_init_one_main(), {running(false), waiting("PodInitializing")}, {waiting("PodInitializing")});
  json s = p.status();
  json init = cond(s, "Initialized");
  EXPECT_EQ(init["status"], "False");
  EXPECT_EQ(init["reason"], "ContainersNotInitialized");
  EXPECT_EQ(init["message"], "containers with incomplete status: [init1 init2]");
  json ready = cond(s, "Ready");
  EXPECT_EQ(ready["reason"], "ContainersNotReady");
  EXPECT_EQ(ready["message"], "containers with unready status: [web]");
  EXPECT_EQ(cond(s, "ContainersReady"), json({{"type", "ContainersReady"},
                                              {"status", "False"},
                                              {"lastProbeTime", nullptr},
                                              {"reason", "ContainersNotReady"},
                                              {"message", "containers with unready status: [web]"},
                                              {"lastTransitionTime", ready["lastTransitionTime"]}}));
  EXPECT_EQ(cond(s, "PodReadyToStartContainers")["status"], "True");
}

TEST(StatusGenerate, InitContainerThatExitedZeroIsReady) {
  View p(two_init_one_main(), {terminated(0), running(false)}, {waiting("PodInitializing")});
  json s = p.status();
  EXPECT_EQ(s["initContainerStatuses"][0]["ready"], true);
  EXPECT_EQ(s["initContainerStatuses"][1]["ready"], false);
  EXPECT_EQ(cond(s, "Initialized")["message"], "containers with incomplete status: [init2]");
  View failed(two_init_one_main(), {terminated(1), waiting("PodInitializing")}, {waiting("PodInitializing")});
  EXPECT_EQ(failed.status()["initContainerStatuses"][0]["ready"], false);
}

TEST(StatusGenerate, RunningAndReady) {
  View p(two_init_one_main(), {terminated(0), terminated(0)}, {running()});
  json s = p.status();
  for (const char* type : {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
    EXPECT_EQ(cond(s, type)["status"], "True") << type;
    EXPECT_FALSE(cond(s, type).contains("reason")) << type;
  }
}

TEST(StatusGenerate, FinishedPods) {
  View ok(two_init_one_main("Never"), {terminated(0), terminated(0)}, {terminated(0)}, true);
  json s = ok.status();
  EXPECT_EQ(s["phase"], "Succeeded");
  EXPECT_EQ(cond(s, "Initialized")["status"], "True");
  EXPECT_EQ(cond(s, "Initialized")["reason"], "PodCompleted");
  EXPECT_EQ(cond(s, "Ready")["reason"], "PodCompleted");
  EXPECT_EQ(cond(s, "ContainersReady")["reason"], "PodCompleted");
  EXPECT_EQ(cond(s, "PodReadyToStartContainers")["status"], "False");
  View bad(two_init_one_main("Never"), {terminated(0), terminated(0)}, {terminated(2)}, true);
  s = bad.status();
  EXPECT_EQ(s["phase"], "Failed");
  EXPECT_EQ(cond(s, "Initialized")["status"], "True");
  EXPECT_FALSE(cond(s, "Initialized").contains("reason"));
  EXPECT_EQ(cond(s, "Ready")["reason"], "PodFailed");
  EXPECT_EQ(cond(s, "ContainersReady")["reason"], "PodFailed");
  // An init container failing under Never: Failed, and Initialized says which.
  View init_failed(two_init_one_main("Never"), {terminated(1), waiting("PodInitializing")},
                   {waiting("PodInitializing")}, true);
  s = init_failed.status();
  EXPECT_EQ(s["phase"], "Failed");
  EXPECT_EQ(cond(s, "Initialized")["message"], "containers with incomplete status: [init1 init2]");
}

TEST(StatusGenerate, LastTransitionTimeMovesOnlyOnChange) {
  View p(two_init_one_main(), {terminated(0), terminated(0)}, {running(false)});
  ConditionTimes times;
  p.v.condition_times = &times;
  auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1000000000));
  observe_conditions(p.v, t0);
  p.v.main[0].ready = true;
  observe_conditions(p.v, t0 + std::chrono::seconds(5));
  json s = build_status(p.v, t0 + std::chrono::seconds(60));
  EXPECT_EQ(cond(s, "Initialized")["lastTransitionTime"], rfc3339_ms(t0));
  EXPECT_EQ(cond(s, "Ready")["lastTransitionTime"], rfc3339_ms(t0 + std::chrono::seconds(5)));
}

TEST(StatusGenerate, HostAndPodAddresses) {
  View p(two_init_one_main(), {terminated(0), terminated(0)}, {running()});
  p.v.pod_ip = "127.0.0.1";
  json s = p.status();
  EXPECT_EQ(s["hostIP"], "127.0.0.1");
  EXPECT_EQ(s["hostIPs"], json::parse(R"([{"ip":"127.0.0.1"}])"));
  EXPECT_EQ(s["podIPs"], json::parse(R"([{"ip":"127.0.0.1"}])"));
  EXPECT_TRUE(s.contains("startTime"));
}

TEST(StatusGenerate, QuantitiesAsTheApiParsesThem) {
  EXPECT_EQ(parse_quantity("100m"), parse_quantity("0.1"));
  EXPECT_EQ(parse_quantity("1"), parse_quantity("1000m"));
  EXPECT_EQ(parse_quantity("1Ki"), parse_quantity("1024"));
  EXPECT_EQ(parse_quantity("1k"), parse_quantity("1e3"));
  EXPECT_EQ(parse_quantity("1M"), parse_quantity("1000k"));
  EXPECT_EQ(parse_quantity("128Mi"), parse_quantity("134217728"));
  EXPECT_EQ(parse_quantity("1.5Gi"), parse_quantity("1536Mi"));
  EXPECT_NE(parse_quantity("1Mi"), parse_quantity("1M"));
  EXPECT_FALSE(parse_quantity("").has_value());
  EXPECT_FALSE(parse_quantity("1 Gi").has_value());
  EXPECT_FALSE(parse_quantity("lots").has_value());
  EXPECT_FALSE(parse_quantity("1Zi").has_value());
}

TEST(StatusGenerate, QosClassTable) {
  auto qos = [](const std::string& containers, const std::string& init = "[]") {
    return qos_class(spec_of(R"({"initContainers":)" + init + R"(,"containers":)" + containers + "}"));
  };
  auto c = [](const std::string& resources) {
    return R"({"name":"c)" + std::to_string(std::hash<std::string>()(resources) % 1000) +
           R"(","command":["true"],"resources":)" + resources + "}";
  };
  EXPECT_EQ(qos(R"([{"name":"a","command":["true"]}])"), "BestEffort");
  EXPECT_EQ(qos("[" + c("{}") + "]"), "BestEffort");
  // Only cpu and memory count.
  EXPECT_EQ(qos("[" + c(R"({"limits":{"ephemeral-storage":"1Gi"}})") + "]"), "BestEffort");
  // Zero is not set.
  EXPECT_EQ(qos("[" + c(R"({"requests":{"cpu":"0"}})") + "]"), "BestEffort");
  EXPECT_EQ(qos("[" + c(R"({"requests":{"cpu":"100m"}})") + "]"), "Burstable");
  EXPECT_EQ(qos("[" + c(R"({"limits":{"cpu":"100m"}})") + "]"), "Burstable");  // no memory limit
  // Limits only: requests default to them.
  EXPECT_EQ(qos("[" + c(R"({"limits":{"cpu":"100m","memory":"64Mi"}})") + "]"), "Guaranteed");
  EXPECT_EQ(qos("[" + c(R"({"limits":{"cpu":"100m","memory":"64Mi"},"requests":{"cpu":"0.1","memory":"64Mi"}})") + "]"),
            "Guaranteed");
  EXPECT_EQ(qos("[" + c(R"({"limits":{"cpu":"100m","memory":"64Mi"},"requests":{"cpu":"50m"}})") + "]"), "Burstable");
  // Every container (init ones too) must limit both.
  EXPECT_EQ(qos(R"([{"name":"a","command":["true"],"resources":{"limits":{"cpu":"1","memory":"1Gi"}}},
                    {"name":"b","command":["true"]}])"),
            "Burstable");
  EXPECT_EQ(qos(R"([{"name":"a","command":["true"],"resources":{"limits":{"cpu":"1","memory":"1Gi"}}}])",
                R"([{"name":"i","command":["true"],"resources":{"requests":{"cpu":"1"}}}])"),
            "Burstable");
  EXPECT_EQ(qos(R"([{"name":"a","command":["true"],"resources":{"limits":{"cpu":"1","memory":"1Gi"}}}])",
                R"([{"name":"i","command":["true"],"resources":{"limits":{"cpu":"2","memory":"1G"}}}])"),
            "Guaranteed");
}

TEST(StatusGenerate, HookFailureMessagesAsTheKubeletWordsThem) {
  PodSpec spec = spec_of(R"({"containers":[{"name":"web","command":["true"],
      "lifecycle":{"postStart":{"httpGet":{"path":"bar?x=1","port":8080}},
                   "preStop":{"exec":{"command":["sh","-c","exit 3"]}}}}]})");
  const ContainerSpec& c = spec.containers[0];
  Result r;
  r.message = "connection refused";
  EXPECT_EQ(hook_failure_message(c, "postStart", *c.post_start, r, "p_default(u1)"),
            "HTTP lifecycle hook (bar?x=1) for Container \"web\" in Pod \"p_default(u1)\" failed - error: connection "
            "refused");
  r.message = "command 'sh -c exit 3' exited with 3";
  r.output = "oops\n";
  EXPECT_EQ(hook_failure_message(c, "preStop", *c.pre_stop, r, "p_default(u1)"),
            "Exec lifecycle hook ([sh -c exit 3]) for Container \"web\" in Pod \"p_default(u1)\" failed - error: "
            "command 'sh -c exit 3' exited with 3, message: \"oops\\n\"");
}

TEST(StatusGenerate, ReadinessGates) {
  View p(spec_of(R"({"readinessGates":[{"conditionType":"example.com/lb"},{"conditionType":"ready-2"}],
                     "containers":[{"name":"web","command":["true"]}]})"),
         {}, {running()});
  json s = p.status();
  EXPECT_EQ(cond(s, "ContainersReady")["status"], "True");
  EXPECT_EQ(cond(s, "Ready")["status"], "False");
  EXPECT_EQ(cond(s, "Ready")["reason"], "ReadinessGatesNotReady");
  EXPECT_EQ(cond(s, "Ready")["message"],
            "corresponding condition of pod readiness gate \"example.com/lb\" does not exist., corresponding condition "
            "of pod readiness gate \"ready-2\" does not exist.");
  std::vector<json> host = {{{"type", "example.com/lb"}, {"status", "False"}}};
  p.v.host_conditions = &host;
  s = p.status();
  EXPECT_EQ(cond(s, "Ready")["message"],
            "the status of pod readiness gate \"example.com/lb\" is not \"True\", but False, corresponding condition "
            "of pod readiness gate \"ready-2\" does not exist.");
  EXPECT_EQ(cond(s, "example.com/lb")["status"], "False");  // the host's condition is listed too
  host = {{{"type", "example.com/lb"}, {"status", "True"}}, {{"type", "ready-2"}, {"status", "True"}}};
  s = p.status();
  EXPECT_EQ(cond(s, "Ready")["status"], "True");
  EXPECT_EQ(s["display"]["ready"], "1/1");
}

TEST(StatusGenerate, HostConditionsAreChecked) {
  EXPECT_EQ(parse_host_condition(R"({"type":"example.com/lb","status":"True","reason":"Wired"})"),
            json::parse(R"({"type":"example.com/lb","status":"True","reason":"Wired"})"));
  for (const char* bad : {R"({"type":"Ready","status":"True"})", R"({"type":"example.com/lb","status":"yes"})",
                          R"({"type":"-bad-","status":"True"})", R"({"status":"True"})", R"([1])", "{nope"}) {
    try {
      parse_host_condition(bad);
      ADD_FAILURE() << bad;
    } catch (const std::exception& e) {
      EXPECT_EQ(std::string(e.what()).rfind("condition", 0), 0u) << e.what();
    }
  }
}

TEST(StatusGenerate, NegativeGraceIsOneSecondWithAWarning) {
  PodSpec spec = spec_of(R"({"terminationGracePeriodSeconds":-5,"containers":[{"name":"web","command":["true"]}]})");
  EXPECT_EQ(spec.grace_ms, 1000);
  ASSERT_EQ(spec.warnings.size(), 1u);
  EXPECT_EQ(spec.warnings[0].path, "spec.terminationGracePeriodSeconds");
  EXPECT_EQ(spec.warnings[0].message, "must be >= 0; negative values are invalid and will be treated as 1");
}
