// A live update (lifehook_pod_update) with the process driver and real processes: the changed
// container is stopped (its preStop first) and started again with its new command, the other one
// keeps running; a change a running pod cannot take is refused by field path; a terminating pod
// takes none.
#include <filesystem>

#include "unit/pod_test_util.hpp"

using namespace podtest;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

TEST(PodUpdate, ChangedContainerRestartsOthersKeepRunning) {
  char t[] = "/tmp/lh-update-XXXXXX";
  std::string dir = ::mkdtemp(t);
  auto make = [&](const std::string& version) {
    json web = container("web", "echo " + version + " > " + dir + "/out; exec sleep 30");
    web["lifecycle"] = {
        {"preStop", {{"exec", {{"command", {"sh", "-c", "echo " + version + " > " + dir + "/stop"}}}}}}};
    return pod_json("upd", json::array({web, container("db", "exec sleep 30")}));
  };
  Ctx c;
  Pod pod(c.ctx, make("v1"));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_TRUE(pod.poll_column("Running"));
  ASSERT_TRUE(pod.poll([](const json& s) { return s["containerStatuses"][1]["ready"] == true; }));
  ASSERT_TRUE(pod.poll([&](const json&) { return read_file(dir + "/out") == "v1"; }));

  char* err = nullptr;
  ASSERT_EQ(lifehook_pod_update(pod.pod, make("v2").dump().c_str(), &err), LIFEHOOK_OK) << (err ? err : "");
  ASSERT_TRUE(pod.poll([](const json& s) {
    const json& w = s["containerStatuses"][0];
    return w["restartCount"] == 1 && w["state"].contains("running");
  })) << pod.status().dump();
  EXPECT_TRUE(pod.poll([&](const json&) { return read_file(dir + "/out") == "v2"; }));
  EXPECT_EQ(read_file(dir + "/stop"), "v2") << "the new definition's preStop, as the kubelet runs it";
  json s = pod.status();
  EXPECT_EQ(s["containerStatuses"][1]["restartCount"], 0) << "db unchanged";
  EXPECT_TRUE(s["containerStatuses"][1]["state"].contains("running"));
  EXPECT_EQ(s["containerStatuses"][0]["lastState"]["terminated"]["exitCode"], 143);
  bool killing = false;
  for (const auto& e : pod.events.snapshot())
    killing |= e["reason"] == "Killing" && e["message"] == "Container web definition changed, will be restarted";
  EXPECT_TRUE(killing);

  json more = make("v2");
  more["spec"]["containers"].push_back(container("extra", "sleep 1"));
  EXPECT_EQ(lifehook_pod_update(pod.pod, more.dump().c_str(), &err), LIFEHOOK_E_INVALID);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(std::string(err).rfind("spec.containers: containers may not be added or removed", 0), 0u) << err;
  lifehook_free(err);
  err = nullptr;

  ASSERT_EQ(lifehook_pod_terminate(pod.pod, 2000), LIFEHOOK_OK);
  EXPECT_EQ(lifehook_pod_update(pod.pod, make("v3").dump().c_str(), &err), LIFEHOOK_E_STATE);
  lifehook_free(err);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
