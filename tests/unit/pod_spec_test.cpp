// Invalid pods are refused at lifehook_pod_create with LIFEHOOK_E_INVALID, naming the JSON path
// and the value (through the C ABI, as a host sees it).
#include <gtest/gtest.h>

#include "pod_test_util.hpp"

using namespace podtest;

namespace {

std::pair<int, std::string> create(lifehook_ctx* ctx, const std::string& pod, const char* options = nullptr) {
  lifehook_pod* p = nullptr;
  char* err = nullptr;
  int rc = lifehook_pod_create(ctx, pod.c_str(), options, nullptr, &p, &err);
  std::string msg = err ? err : "";
  lifehook_free(err);
  lifehook_pod_destroy(p);
  return {rc, msg};
}

json good() { return pod_json("p", json::array({container("web", "sleep 1")})); }

}  // namespace

TEST(PodSpec, InvalidPodsNameThePathAndValue) {
  Ctx c;
  struct Case {
    std::function<void(json&)> mutate;
    std::string path, value;
  };
  std::vector<Case> cases = {
      {[](json& j) { j["spec"]["containers"].push_back(container("web", "true")); }, "spec.containers[1].name",
       "\"web\""},
      {[](json& j) { j["spec"]["containers"][0].erase("name"); }, "spec.containers[0].name", "required"},
      {[](json& j) { j["spec"]["containers"][0]["name"] = "Bad_Name"; }, "spec.containers[0].name", "Bad_Name"},
      {[](json& j) { j["spec"]["terminationGracePeriodSeconds"] = "ten"; }, "spec.terminationGracePeriodSeconds",
       "ten"},
      {[](json& j) { j["spec"]["restartPolicy"] = "Sometimes"; }, "spec.restartPolicy", "Sometimes"},
      {[](json& j) { j["spec"]["containers"][0]["terminationMessagePolicy"] = "Logs"; },
       "spec.containers[0].terminationMessagePolicy", "Logs"},
      {[](json& j) {
         j["spec"]["initContainers"] = json::array({container("init", "true")});
         j["spec"]["initContainers"][0]["lifecycle"] = {{"postStart", {{"sleep", {{"seconds", 1}}}}}};
       },
       "spec.initContainers[0].lifecycle", "postStart"},
      {[](json& j) {
         j["spec"]["containers"][0]["lifecycle"] = {{"preStop", {{"exec", {{"command", "x"}}}}}};
       },
       "spec.containers[0].lifecycle.preStop.exec.command", "\"x\""},
      {[](json& j) {
         j["spec"]["containers"][0]["lifecycle"] = {{"stopSignal", "SIGNOPE"}};
       },
       "spec.containers[0].lifecycle.stopSignal", "SIGNOPE"},
      {[](json& j) { j["spec"]["containers"] = json::array(); }, "spec.containers", "at least one"},
      {[](json& j) { j["metadata"].erase("name"); }, "metadata.name", "required"},
      {[](json& j) {
         j["spec"]["containers"][0]["env"] = {{{"name", "A=B"}, {"value", "1"}}};
       },
       "spec.containers[0].env[0].name", "A=B"},
      {[](json& j) {
         j["spec"]["containers"][0]["ports"] = {{{"containerPort", 70000}}};
       },
       "spec.containers[0].ports[0].containerPort", "70000"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    json j = good();
    cases[i].mutate(j);
    auto [rc, msg] = create(c.ctx, j.dump());
    EXPECT_EQ(rc, LIFEHOOK_E_INVALID) << "case " << i << ": " << msg;
    EXPECT_NE(msg.find(cases[i].path), std::string::npos) << "case " << i << ": " << msg;
    EXPECT_NE(msg.find(cases[i].value), std::string::npos) << "case " << i << ": " << msg;
  }
}

TEST(PodSpec, ProcessDriverRunsCommandsNotImages) {
  Ctx c;
  json j = pod_json("p", json::array({container("a", "sleep 1"), {{"name", "web"}, {"image", "nginx:1.27"}}}));
  auto [rc, msg] = create(c.ctx, j.dump());
  EXPECT_EQ(rc, LIFEHOOK_E_INVALID);
  EXPECT_NE(msg.find("spec.containers[1].command"), std::string::npos) << msg;
  EXPECT_NE(msg.find("runs commands, not images"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nginx:1.27"), std::string::npos) << msg;
}

TEST(PodSpec, BadJsonAndOptions) {
  Ctx c;
  auto [rc, msg] = create(c.ctx, "{\"metadata\": ");
  EXPECT_EQ(rc, LIFEHOOK_E_INVALID);
  EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;
  auto [rc2, msg2] = create(c.ctx, good().dump(), R"({"driver":"warp"})");
  EXPECT_EQ(rc2, LIFEHOOK_E_INVALID);
  EXPECT_NE(msg2.find("options.driver"), std::string::npos) << msg2;
  EXPECT_NE(msg2.find("warp"), std::string::npos) << msg2;
  auto [rc3, msg3] = create(c.ctx, good().dump(), R"({"backoffInitialMs":-5})");
  EXPECT_EQ(rc3, LIFEHOOK_E_INVALID);
  EXPECT_NE(msg3.find("options.backoffInitialMs"), std::string::npos) << msg3;
  auto [rc4, msg4] = create(c.ctx, good().dump(), R"({"driver":"process","backoffInitialMs":100})");
  EXPECT_EQ(rc4, LIFEHOOK_OK) << msg4;
}

TEST(PodSpec, NullArgumentsAreErrorsNotCrashes) {
  Ctx c;
  lifehook_pod* p = nullptr;
  EXPECT_EQ(lifehook_pod_create(c.ctx, nullptr, nullptr, nullptr, &p, nullptr), LIFEHOOK_E_INVALID);
  EXPECT_EQ(lifehook_pod_create(nullptr, "{}", nullptr, nullptr, &p, nullptr), LIFEHOOK_E_INVALID);
  EXPECT_EQ(lifehook_pod_start(nullptr), LIFEHOOK_E_INVALID);
  EXPECT_EQ(lifehook_pod_terminate(nullptr, 0), LIFEHOOK_E_INVALID);
  EXPECT_EQ(lifehook_pod_wait(nullptr, 0), LIFEHOOK_E_INVALID);
  char* s = nullptr;
  EXPECT_EQ(lifehook_pod_status(nullptr, &s), LIFEHOOK_E_INVALID);
  EXPECT_EQ(lifehook_pod_container_exited(nullptr, "a", 0, 0), LIFEHOOK_E_INVALID);
  lifehook_pod_destroy(nullptr);
}
