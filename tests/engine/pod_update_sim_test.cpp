// Live updates in simulated time (Lifecycle::update, check_update): a running container whose
// definition changed is stopped with its preStop and the pod's grace and started again at once
// (restartCount + 1, Killing "Container X definition changed, will be restarted"), whatever the
// restartPolicy; unchanged containers, completed init containers and containers done for good are
// left alone; a container in CrashLoopBackOff starts at once; what may not change is refused with
// its field path.
#include "engine_sim.hpp"
#include "plugin/common/errors.hpp"
#include "plugin/pod/update.hpp"

namespace lifehook::pod {
namespace {

using namespace sim;

// A new definition of the Sim's pod (declared before the Sim: the engine's containers point into it).
struct Update {
  PodSpec spec;
  explicit Update(const json& j) : spec(parse_pod_json(j)) {}
};

std::string rejected(const json& was, const json& now) {
  PodSpec a = parse_pod_json(was);
  PodSpec b = parse_pod_json(now);
  try {
    check_update(a, b);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PodUpdate, WhatMayNotChange) {
  json base = pod(json::array({ctr("web"), ctr("db")}), json::array({ctr("init")}), {{"activeDeadlineSeconds", 60}});
  auto with = [&](auto f) {
    json j = base;
    f(j);
    return rejected(base, j);
  };
  EXPECT_EQ(with([](json& j) { j["spec"]["containers"][0]["command"] = {"other"}; }), "");
  EXPECT_EQ(with([](json& j) { j["spec"]["containers"][1]["image"] = "db:2"; }), "");
  EXPECT_EQ(with([](json& j) { j["spec"]["initContainers"][0]["args"] = {"x"}; }), "");
  EXPECT_EQ(with([](json& j) { j["spec"]["activeDeadlineSeconds"] = 30; }), "") << "shortened";
  EXPECT_EQ(with([](json& j) { j["metadata"]["labels"] = {{"a", "b"}}; }), "");
  EXPECT_EQ(with([](json& j) { j["spec"]["containers"].push_back(ctr("extra")); }),
            "spec.containers: containers may not be added or removed on a running pod (it has 2, the update 3)");
  EXPECT_EQ(with([](json& j) { j["spec"]["containers"].erase(1); }),
            "spec.containers: containers may not be added or removed on a running pod (it has 2, the update 1)");
  EXPECT_EQ(with([](json& j) { j["spec"]["containers"][1]["name"] = "cache"; }),
            "spec.containers[1].name: may not change on a running pod (was \"db\"; containers may not be renamed or "
            "reordered) (got \"cache\")");
  EXPECT_EQ(with([](json& j) { j["spec"]["initContainers"][0]["restartPolicy"] = "Always"; }),
            "spec.initContainers[0].restartPolicy: may not change on a running pod");
  EXPECT_EQ(with([](json& j) { j["spec"]["restartPolicy"] = "Never"; }),
            "spec.restartPolicy: may not change on a running pod (only the containers' definitions and "
            "activeDeadlineSeconds may) (got \"Never\")");
  EXPECT_EQ(with([](json& j) { j["spec"]["terminationGracePeriodSeconds"] = 5; }).substr(0, 58),
            "spec.terminationGracePeriodSeconds: may not change on a ru");
  EXPECT_EQ(with([](json& j) { j["spec"]["activeDeadlineSeconds"] = 61; }),
            "spec.activeDeadlineSeconds: must be less than or equal to previous value (60) (got 61)");
  EXPECT_EQ(with([](json& j) { j["spec"].erase("activeDeadlineSeconds"); }),
            "spec.activeDeadlineSeconds: must not update from a positive integer to nil value (got nothing)");
  EXPECT_EQ(with([](json& j) { j["metadata"]["name"] = "other"; }).substr(0, 14), "metadata.name:");
  EXPECT_EQ(with([](json& j) { j["metadata"]["uid"] = "v"; }).substr(0, 13), "metadata.uid:");
  json no_uid = base;
  no_uid["metadata"].erase("uid");
  EXPECT_EQ(rejected(base, no_uid), "") << "no uid: the pod's";
}

TEST(PodUpdateSim, ChangedContainerRestartsWithItsHooksUnchangedOneLeftAlone) {
  json base = pod(json::array({with_hooks(ctr("web"), false, true), ctr("db")}), json::array(),
                  {{"terminationGracePeriodSeconds", 5}});
  json j = base;
  j["spec"]["containers"][0]["command"] = {"app2"};
  Update u(j);  // outlives the Sim, as a pod's definitions outlive its engine
  Sim s(base);
  s.start();
  ASSERT_EQ(s.calls(), (std::vector<std::string>{"start web#1", "start db#1"}));
  s.run([&](Lifecycle& l, Deferred& d) { l.update(u.spec, d); });
  s.drain();
  ASSERT_EQ(s.count(EventReason::Killing), 1u);
  EXPECT_EQ(s.events.back().message, "Container web definition changed, will be restarted");
  EXPECT_EQ(s.events.back().container, "web");
  EXPECT_NE(s.hooks.running(Purpose::PreStop), 0u) << "preStop first";
  s.finish_hook(Purpose::PreStop, Outcome::Success);
  EXPECT_EQ(s.calls().back(), "signal web#1 15");
  s.exit("web", 1, 143, SIGTERM);
  EXPECT_EQ(s.calls().back(), "start web#2") << "at once";
  json st = s.status()["containerStatuses"];
  EXPECT_EQ(st[0]["restartCount"], 1);
  EXPECT_TRUE(st[0]["state"].contains("running"));
  EXPECT_EQ(st[0]["lastState"]["terminated"]["exitCode"], 143);
  EXPECT_EQ(st[1]["restartCount"], 0) << "db unchanged";
  EXPECT_EQ(s.when("signal db#1 15"), -1);
}

TEST(PodUpdateSim, RestartsWhateverThePolicyCompletedInitLeftAlone) {
  json base = pod(json::array({ctr("web")}), json::array({ctr("init")}), {{"restartPolicy", "Never"}});
  json j = base;
  j["spec"]["initContainers"][0]["command"] = {"init2"};
  j["spec"]["containers"][0]["env"] = {{{"name", "V"}, {"value", "2"}}};
  Update u(j);
  Sim s(base);
  s.start();
  s.exit("init", 1, 0);
  ASSERT_EQ(s.calls().back(), "start web#1");
  s.run([&](Lifecycle& l, Deferred& d) { l.update(u.spec, d); });
  s.drain();
  EXPECT_EQ(s.calls().back(), "signal web#1 15");
  s.exit("web", 1, 0);
  EXPECT_EQ(s.calls().back(), "start web#2") << "restartPolicy Never, restarted all the same";
  EXPECT_EQ(s.when("start init#2"), -1) << "a completed init container never runs again";
  EXPECT_EQ(s.status()["phase"], "Running");
  EXPECT_EQ(s.status()["initContainerStatuses"][0]["restartCount"], 0);
}

TEST(PodUpdateSim, CrashLoopingContainerStartsAtOnceDoneContainerLeftAlone) {
  json base = pod(json::array({ctr("crash"), ctr("done")}), json::array(), {{"restartPolicy", "OnFailure"}});
  json j = base;
  j["spec"]["containers"][0]["command"] = {"fixed"};
  j["spec"]["containers"][1]["command"] = {"other"};
  Update u(j);
  Sim s(base);
  s.start();
  s.exit("done", 1, 0);  // done for good under OnFailure
  s.exit("crash", 1, 1);
  s.exit("crash", 2, 1);  // now backing off 10 s
  ASSERT_EQ(s.status()["containerStatuses"][0]["state"]["waiting"]["reason"], "CrashLoopBackOff");
  size_t before = s.calls().size();
  s.run([&](Lifecycle& l, Deferred& d) { l.update(u.spec, d); });
  s.drain();
  ASSERT_EQ(s.calls().size(), before + 1);
  EXPECT_EQ(s.calls().back(), "start crash#3") << "the new definition has no backoff";
  EXPECT_EQ(s.when("start done#2"), -1);
  EXPECT_EQ(s.count(EventReason::Killing), 0u);
}

TEST(PodUpdateSim, NothingRestartsOnceTerminating) {
  json base = pod(json::array({ctr("web")}));
  json j = base;
  j["spec"]["containers"][0]["command"] = {"app2"};
  Update u(j);
  Sim s(base);
  s.start();
  s.terminate(10000);
  s.run([&](Lifecycle& l, Deferred& d) { l.update(u.spec, d); });
  s.drain();
  s.exit("web", 1, 143, SIGTERM);
  EXPECT_EQ(s.when("start web#2"), -1);
  EXPECT_EQ(s.count(EventReason::Killing), 1u) << "only the termination's";
}

}  // namespace
}  // namespace lifehook::pod
