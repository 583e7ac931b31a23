// lifehook_pod_validate through the C ABI: every problem at once with the rules of
// lifehook_pod_create, every ignored field a warning, and the same warnings in a pod's status.
#include <gtest/gtest.h>

#include "pod_test_util.hpp"

using namespace podtest;

namespace {

std::pair<int, json> validate(lifehook_ctx* ctx, const json& pod, const char* options = nullptr) {
  char* report = nullptr;
  int rc = lifehook_pod_validate(ctx, pod.dump().c_str(), options, nullptr, &report);
  json r = report ? json::parse(report) : json();
  lifehook_free(report);
  return {rc, r};
}

std::vector<std::string> paths(const json& list) {
  std::vector<std::string> out;
  for (const auto& f : list) out.push_back(f["path"]);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST(PodValidate, AValidPodHasNoProblems) {
  Ctx c;
  auto [rc, r] = validate(c.ctx, pod_json("p", json::array({container("web", "sleep 1")})));
  EXPECT_EQ(rc, LIFEHOOK_OK);
  EXPECT_EQ(r["valid"], true);
  EXPECT_TRUE(r["problems"].empty());
  // image is not used by the process driver: said so, never silently.
  EXPECT_EQ(paths(r["warnings"]), (std::vector<std::string>{"spec.containers[0].image"}));
}

TEST(PodValidate, EveryProblemAtOnceWithItsPath) {
  Ctx c;
  json pod = pod_json("p", json::array({container("Web_1", "sleep 1"),
                                        {{"name", "b"}, {"command", {"sleep", 1}}},
                                        {{"name", "c"}, {"image", "nginx"}}}));
  pod["spec"]["restartPolicy"] = "Sometimes";
  pod["spec"]["terminationGracePeriodSeconds"] = "ten";
  pod["spec"]["containers"][0]["env"] = {{{"name", "PORT"}, {"value", 8080}}};
  pod["spec"]["containers"][0]["lifecycle"] = {{"stopSignal", "TERM"}, {"preStop", {{"httpGet", {{"port", "web"}}}}}};
  auto [rc, r] = validate(c.ctx, pod);
  EXPECT_EQ(rc, LIFEHOOK_E_INVALID);
  EXPECT_EQ(r["valid"], false);
  auto p = paths(r["problems"]);
  for (const char* path : {"spec.restartPolicy", "spec.terminationGracePeriodSeconds", "spec.containers[0].name",
                           "spec.containers[0].env[0].value", "spec.containers[0].lifecycle.preStop.httpGet.port",
                           "spec.containers[1].command[1]", "spec.containers[2].command"})
    EXPECT_TRUE(has(p, path)) << path << " in " << r.dump(1);
  // stopSignal: TERM is accepted by the library (as "SIGTERM"): the CLI used to disagree.
  EXPECT_FALSE(has(p, "spec.containers[0].lifecycle.stopSignal")) << r.dump(1);
  // A container with a parse problem is not also blamed by the driver for a partial spec.
  EXPECT_FALSE(has(p, "spec.containers[1].command")) << r.dump(1);
  for (const auto& f : r["problems"]) EXPECT_FALSE(f["message"].get<std::string>().empty());
}

TEST(PodValidate, TheSameVerdictAsCreate) {
  Ctx c;
  json bad = pod_json("p", json::array({container("web", "sleep 1")}));
  bad["spec"]["containers"][0]["lifecycle"] = {{"stopSignal", "SIGNOPE"}};
  auto [rc, r] = validate(c.ctx, bad);
  lifehook_pod* pod = nullptr;
  char* err = nullptr;
  int create_rc = lifehook_pod_create(c.ctx, bad.dump().c_str(), nullptr, nullptr, &pod, &err);
  EXPECT_EQ(rc, create_rc);
  ASSERT_EQ(r["problems"].size(), 1u);
  EXPECT_EQ(std::string(err),
            r["problems"][0]["path"].get<std::string>() + ": " + r["problems"][0]["message"].get<std::string>());
  lifehook_free(err);
  EXPECT_EQ(pod, nullptr);

  // Not JSON, not an object, options that name an unknown driver.
  char* report = nullptr;
  EXPECT_EQ(lifehook_pod_validate(c.ctx, "{nope", nullptr, nullptr, &report), LIFEHOOK_E_INVALID);
  ASSERT_NE(report, nullptr);
  EXPECT_EQ(json::parse(report)["problems"][0]["path"], "pod");
  lifehook_free(report);
  auto [orc, orep] = validate(c.ctx, pod_json("p", json::array({container("web", "true")})), R"({"driver":"nope"})");
  EXPECT_EQ(orc, LIFEHOOK_E_INVALID);
  EXPECT_EQ(orep["problems"][0]["path"], "options.driver");
  EXPECT_EQ(lifehook_pod_validate(nullptr, "{}", nullptr, nullptr, &report), LIFEHOOK_E_INVALID);
  EXPECT_EQ(report, nullptr);
}

TEST(PodValidate, UnimplementedFieldsAreWarnings) {
  Ctx c;
  json pod = pod_json("p", json::array({container("web", "sleep 1")}));
  pod["spec"]["containers"][0]["readinessProbe"] = {{"exec", {{"command", {"false"}}}}};  // implemented
  pod["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log";        // implemented
  pod["spec"]["containers"][0]["volumeMounts"] = {{{"name", "data"}, {"mountPath", "/data"}}};
  pod["spec"]["containers"][0]["resources"] = {{"limits", {{"cpu", "1"}}}};
  pod["spec"]["containers"][0]["securityContext"] = {{"runAsUser", 1000}};
  pod["spec"]["containers"][0]["ports"] = {{{"containerPort", 80}, {"hostPort", 8080}}};
  pod["spec"]["containers"][0]["env"] = json::array();  // empty: asks for nothing
  pod["spec"]["volumes"] = {{{"name", "data"}, {"emptyDir", json::object()}}};
  pod["spec"]["nodeSelector"] = {{"disk", "ssd"}};
  pod["spec"]["hostNetwork"] = true;
  auto [rc, r] = validate(c.ctx, pod);
  EXPECT_EQ(rc, LIFEHOOK_OK) << r.dump(1);
  auto w = paths(r["warnings"]);
  for (const char* path : {"spec.containers[0].volumeMounts", "spec.containers[0].resources",
                           "spec.containers[0].securityContext", "spec.containers[0].ports[0].hostPort", "spec.volumes",
                           "spec.nodeSelector", "spec.hostNetwork", "spec.containers[0].image"})
    EXPECT_TRUE(has(w, path)) << path << " in " << r.dump(1);
  EXPECT_FALSE(has(w, "spec.containers[0].env"));
  EXPECT_FALSE(has(w, "spec.containers[0].readinessProbe"));  // probes are the engine's
  EXPECT_FALSE(has(w, "spec.containers[0].terminationMessagePath"));
  EXPECT_EQ(w.size(), 8u) << r.dump(1);

  // The oci driver implements runAsUser: no warning for it there (the driver is made, never started).
  auto [orc, orep] = validate(c.ctx, pod, R"({"driver":"oci"})");
  EXPECT_EQ(orc, LIFEHOOK_OK) << orep.dump(1);
  EXPECT_FALSE(has(paths(orep["warnings"]), "spec.containers[0].securityContext.runAsUser")) << orep.dump(1);
  EXPECT_FALSE(has(paths(orep["warnings"]), "spec.containers[0].securityContext")) << orep.dump(1);
}

TEST(PodValidate, WarningsAreInThePodStatus) {
  Ctx c;
  json spec = pod_json("p", json::array({container("web", "exit 0")}), json::array(),
                       {{"restartPolicy", "Never"}, {"hostNetwork", true}});
  spec["spec"]["containers"][0]["stdin"] = true;
  Pod p(c.ctx, spec);
  ASSERT_NE(p.pod, nullptr);
  json s = p.status();
  auto w = paths(s["warnings"]);
  EXPECT_TRUE(has(w, "spec.containers[0].stdin")) << s.dump(1);
  EXPECT_TRUE(has(w, "spec.hostNetwork")) << s.dump(1);
  EXPECT_EQ(s["qosClass"], "BestEffort");
}

TEST(PodValidate, ReadinessGateSetByTheHost) {
  Ctx c;
  json spec = pod_json("gated", json::array({container("web", "sleep 30")}), json::array(),
                       {{"readinessGates", {{{"conditionType", "example.com/lb"}}}}});
  Pod p(c.ctx, spec);
  ASSERT_NE(p.pod, nullptr);
  ASSERT_EQ(lifehook_pod_start(p.pod), LIFEHOOK_OK);
  auto ready = [](const json& s) {
    for (const auto& cond : s["conditions"])
      if (cond["type"] == "Ready") return cond;
    return json();
  };
  ASSERT_TRUE(p.poll([](const json& s) { return s["containerStatuses"][0]["ready"] == true; }));
  json s = p.status();
  EXPECT_EQ(ready(s)["reason"], "ReadinessGatesNotReady") << s.dump(1);
  EXPECT_EQ(s["display"]["ready"], "1/1");  // the READY column counts containers
  EXPECT_EQ(lifehook_pod_set_condition(p.pod, R"({"type":"example.com/lb","status":"True"})"), LIFEHOOK_OK);
  s = p.status();
  EXPECT_EQ(ready(s)["status"], "True") << s.dump(1);
  EXPECT_EQ(lifehook_pod_set_condition(p.pod, R"({"type":"Ready","status":"True"})"), LIFEHOOK_E_INVALID);
  EXPECT_EQ(lifehook_pod_set_condition(p.pod, nullptr), LIFEHOOK_E_INVALID);
  EXPECT_EQ(lifehook_pod_set_condition(nullptr, R"({"type":"a","status":"True"})"), LIFEHOOK_E_INVALID);
  EXPECT_FALSE(has(paths(s["warnings"]), "spec.readinessGates"));
  lifehook_pod_terminate(p.pod, 0);
}
