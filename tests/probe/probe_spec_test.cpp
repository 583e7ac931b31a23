// Probe spec parsing: the Kubernetes defaults and every invalid value an error naming the field
// path and the value.
#include <gtest/gtest.h>

#include "plugin/common/errors.hpp"
#include "plugin/pod/spec.hpp"
#include "plugin/probe/spec.hpp"

using namespace lifehook;
using namespace lifehook::probe;

namespace {

ProbeSpec parse(const std::string& text, ProbeType type = ProbeType::Liveness) {
  return parse_probe(json::parse(text), "spec.containers[0].livenessProbe", type, {NamedPort{"http", 8080}},
                     {EnvVar{"F", "/tmp/health"}});
}

std::string invalid(const std::string& text, ProbeType type = ProbeType::Liveness) {
  try {
    parse(text, type);
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), LIFEHOOK_E_INVALID) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

}  // namespace

TEST(ProbeSpec, DefaultsAsSetDefaultsProbe) {
  ProbeSpec s = parse(R"J({"exec":{"command":["cat","$(F)"]}})J");
  EXPECT_EQ(std::get<ExecSpec>(s.handler).command, (std::vector<std::string>{"cat", "/tmp/health"}));
  EXPECT_EQ(s.initial_delay_ms, 0);
  EXPECT_EQ(s.period_ms, 10000);
  EXPECT_EQ(s.timeout_ms, 1000);
  EXPECT_EQ(s.success_threshold, 1);
  EXPECT_EQ(s.failure_threshold, 3);
  EXPECT_FALSE(s.termination_grace_ms);
  // 0 is the Go zero value: defaulted, as the API server does.
  ProbeSpec z = parse(R"({"tcpSocket":{"port":"http"},"periodSeconds":0,"timeoutSeconds":0,"successThreshold":0,
                          "failureThreshold":0})");
  EXPECT_EQ(std::get<TcpSocketSpec>(z.handler).port, 8080);
  EXPECT_EQ(z.period_ms, 10000);
  EXPECT_EQ(z.timeout_ms, 1000);
  EXPECT_EQ(z.success_threshold, 1);
  EXPECT_EQ(z.failure_threshold, 3);
}

TEST(ProbeSpec, ReadsEveryField) {
  ProbeSpec s = parse(R"({"httpGet":{"path":"/healthz","port":8080},"initialDelaySeconds":15,"periodSeconds":3,
                          "timeoutSeconds":2,"successThreshold":2,"failureThreshold":5})",
                      ProbeType::Readiness);
  EXPECT_EQ(std::get<HttpGetSpec>(s.handler).path, "/healthz");
  EXPECT_EQ(s.initial_delay_ms, 15000);
  EXPECT_EQ(s.period_ms, 3000);
  EXPECT_EQ(s.timeout_ms, 2000);
  EXPECT_EQ(s.success_threshold, 2);
  EXPECT_EQ(s.failure_threshold, 5);
  ProbeSpec g = parse(R"({"tcpSocket":{"port":1},"terminationGracePeriodSeconds":7})", ProbeType::Startup);
  EXPECT_EQ(g.termination_grace_ms, 7000);
}

TEST(ProbeSpec, EveryWrongValueNamesThePathAndTheValue) {
  const std::string p = "spec.containers[0].livenessProbe";
  EXPECT_EQ(invalid(R"({"tcpSocket":{"port":1},"periodSeconds":-1})"),
            p + ".periodSeconds: must be greater than or equal to 0 (got -1)");
  EXPECT_EQ(invalid(R"({"tcpSocket":{"port":1},"timeoutSeconds":"1s"})"),
            p + ".timeoutSeconds: must be an integer number (got \"1s\")");
  EXPECT_EQ(invalid(R"({"tcpSocket":{"port":1},"initialDelaySeconds":1.5})"),
            p + ".initialDelaySeconds: must be an integer number (got 1.5)");
  EXPECT_EQ(invalid(R"({"tcpSocket":{"port":1},"failureThreshold":-3})"),
            p + ".failureThreshold: must be greater than or equal to 0 (got -3)");
  EXPECT_EQ(invalid(R"({"tcpSocket":{"port":1},"failureThreshold":4294967296})"),
            p + ".failureThreshold: must be at most 2147483647 (got 4294967296)");
  EXPECT_EQ(invalid(R"({"tcpSocket":{"port":1},"successThreshold":2})"),
            p + ".successThreshold: must be 1 for livenessProbe (got 2)");
  EXPECT_EQ(invalid(R"({"tcpSocket":{"port":1},"successThreshold":3})", ProbeType::Startup),
            p + ".successThreshold: must be 1 for startupProbe (got 3)");
  EXPECT_EQ(invalid(R"({"tcpSocket":{"port":1},"terminationGracePeriodSeconds":10})", ProbeType::Readiness),
            p + ".terminationGracePeriodSeconds: must not be set for readinessProbes (got 10)");
  EXPECT_EQ(invalid(R"({"tcpSocket":{"port":1},"terminationGracePeriodSeconds":0})"),
            p + ".terminationGracePeriodSeconds: must be greater than 0 (got 0)");
  EXPECT_EQ(invalid(R"({"tcpSocket":{"port":1},"terminationGracePeriodSeconds":-5})"),
            p + ".terminationGracePeriodSeconds: must be greater than 0 (got -5)");
  EXPECT_EQ(invalid(R"({"periodSeconds":1})"),
            p + ": must specify a handler type: one of exec, httpGet, tcpSocket, grpc");
  EXPECT_EQ(invalid(R"({"exec":{"command":["true"]},"tcpSocket":{"port":1}})"),
            p + ": may not specify more than 1 handler type; found exec and tcpSocket");
  EXPECT_EQ(invalid(R"({"sleep":{"seconds":1}})"),
            p + ".sleep: is not a probe handler; use exec, httpGet, tcpSocket or grpc (got {\"seconds\":1})");
  EXPECT_EQ(invalid(R"({"tcpSocket":{"port":"nope"}})"),
            p + ".tcpSocket.port: names no port of the target (target.ports / container ports) (got \"nope\")");
  EXPECT_EQ(invalid(R"({"exec":{"command":[]}})"), p + ".exec.command: must be a non-empty array of strings (got [])");
  EXPECT_EQ(invalid(R"([1])"), p + ": must be an object (got [1])");
}

TEST(ProbeSpec, PodContainersCarryTheirProbesAndReportTheirErrors) {
  pod::PodSpec p = pod::parse_pod(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"app",
      "ports":[{"name":"web","containerPort":8080}],
      "livenessProbe":{"httpGet":{"port":"web"},"failureThreshold":1},
      "readinessProbe":{"tcpSocket":{"port":8080},"successThreshold":2},
      "startupProbe":{"exec":{"command":["true"]},"periodSeconds":2}}]}})");
  const auto& c = p.containers[0];
  ASSERT_TRUE(c.liveness_probe && c.readiness_probe && c.startup_probe);
  EXPECT_EQ(std::get<HttpGetSpec>(c.liveness_probe->handler).port, 8080);
  EXPECT_EQ(c.liveness_probe->failure_threshold, 1);
  EXPECT_EQ(c.readiness_probe->success_threshold, 2);
  EXPECT_EQ(c.startup_probe->period_ms, 2000);
  try {
    pod::parse_pod(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"app",
        "readinessProbe":{"exec":{"command":["false"]},"periodSeconds":-1}}]}})");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "spec.containers[0].readinessProbe.periodSeconds: must be greater than or equal to 0 (got -1)");
  }
}
