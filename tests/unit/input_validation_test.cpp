// Every input means what it says or is refused: NUL/CR/LF in strings that reach a system call,
// a header or a log line; numbers range-checked before narrowing; ports as the API server reads
// them; header names as RFC 7230 tokens; bounded header lists. Each refusal is
// LIFEHOOK_E_INVALID naming the field.
#include <gtest/gtest.h>

#include <chrono>

#include "api_support.hpp"
#include "handlers/model.hpp"
#include "plugin/common/errors.hpp"
#include "plugin/pod/spec.hpp"

using namespace lifehook;

namespace {

// The message of the Error(INVALID) that parsing `text` throws ("" and a test failure if accepted).
template <typename Parse>
std::string refusal(Parse parse, const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), LIFEHOOK_E_INVALID) << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an Error(INVALID): " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

std::string request_refusal(const std::string& text) {
  return refusal([](const std::string& t) { parse_request(t); }, text);
}

std::string pod_refusal(const std::string& text) {
  return refusal([](const std::string& t) { pod::parse_pod(t); }, text);
}

// A request with `target` and an exec handler, for target-field cases.
std::string with_target(const std::string& target) {
  return R"({"handler":{"exec":{"command":["true"]}},"target":)" + target + "}";
}

#define EXPECT_NAMES(message, field) EXPECT_NE((message).find(field), std::string::npos) << (message)

}  // namespace

TEST(InputValidation, NulIsRefusedInEveryTargetString) {
  for (const char* key : {"podIP", "workingDir", "bundle", "cgroup", "runtime", "runtimeRoot", "netns"}) {
    std::string msg = request_refusal(with_target(std::string(R"({")") + key + R"(":"/tmp\u0000/x"})"));
    EXPECT_NAMES(msg, std::string("target.") + key);
  }
  EXPECT_NAMES(request_refusal(with_target(R"({"env":[{"name":"A","value":"a\u0000b"}]})")), "target.env[0].value");
  EXPECT_NAMES(request_refusal(R"({"handler":{"tcpSocket":{"host":"127.0.0.1\u0000.allowed.example","port":80}}})"),
               "handler.tcpSocket.host");
  EXPECT_NAMES(request_refusal(R"({"handler":{"tcpSocket":{"port":80}},"target":{"podIP":"127.0.0.1\u0000.x"}})"),
               "target.podIP");
  EXPECT_NAMES(
      pod_refusal(R"({"metadata":{"name":"p\u0000x"},"spec":{"containers":[{"name":"c","command":["true"]}]}})"),
      "metadata.name");
  EXPECT_NAMES(pod_refusal(R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","command":["true"],
                                  "workingDir":"/tmp\u0000/x"}]}})"),
               "spec.containers[0].workingDir");
}

TEST(InputValidation, CrAndLfAreRefusedInSingleLineFields) {
  EXPECT_NAMES(request_refusal(with_target(R"({"workingDir":"/tmp\n/x"})")), "target.workingDir");
  EXPECT_NAMES(request_refusal(with_target(R"({"netns":"/proc/1/ns/net\r"})")), "target.netns");
  EXPECT_NAMES(request_refusal(with_target(R"({"env":[{"name":"A\nB","value":"x"}]})")), "target.env[0].name");
  EXPECT_NAMES(request_refusal(R"({"handler":{"tcpSocket":{"host":"127.0.0.1\r\n","port":80}}})"),
               "handler.tcpSocket.host");
  // A multi-line script stays a valid argument (Kubernetes takes it); in a log line it is escaped.
  auto r = parse_request(R"({"handler":{"exec":{"command":["sh","-c","echo a\necho b"]}}})");
  EXPECT_EQ(describe(r.handler, r.target), "exec [sh -c echo a\\necho b]");
}

TEST(InputValidation, RelativeWorkingDirIsRefused) {
  EXPECT_NAMES(request_refusal(with_target(R"({"workingDir":"tmp"})")), "target.workingDir");
  EXPECT_NO_THROW(parse_request(with_target(R"({"workingDir":"/tmp"})")));
}

TEST(InputValidation, NumbersAreRangeCheckedBeforeConversion) {
  std::string big = request_refusal(
      R"({"handler":{"tcpSocket":{"port":"web","host":"127.0.0.1"}},"target":{"ports":[{"name":"web","containerPort":4294967376}]}})");
  EXPECT_NAMES(big, "target.ports[0].containerPort");
  EXPECT_NAMES(big, "4294967376");
  EXPECT_NAMES(request_refusal(R"({"handler":{"tcpSocket":{"port":4294967376,"host":"127.0.0.1"}}})"),
               "handler.tcpSocket.port");
  EXPECT_NAMES(request_refusal(R"({"handler":{"tcpSocket":{"port":18446744073709551615,"host":"127.0.0.1"}}})"),
               "handler.tcpSocket.port");
  EXPECT_NAMES(request_refusal(with_target(R"({"pid":18446744073709551615})")), "target.pid");
  std::string tmo = request_refusal(R"({"handler":{"sleep":{"seconds":1}},"timeoutMs":1e13})");
  EXPECT_NAMES(tmo, "timeoutMs");
  EXPECT_NAMES(tmo, "between 0 and 1000000000000");
  EXPECT_EQ(tmo.find(">= 0"), std::string::npos) << tmo;
  EXPECT_NAMES(request_refusal(R"({"handler":{"sleep":{"seconds":1e10}}})"), "between 0 and 1000000000");
}

TEST(InputValidation, NumberOverflowNamesTheField) {
  std::string msg = request_refusal(
      R"({"handler":{"tcpSocket":{"port":80,"host":"127.0.0.1"}},"target":{"ports":[{"name":"a","containerPort":1},{"name":"b","containerPort":1e999}]}})");
  EXPECT_NAMES(msg, "target.ports[1].containerPort");
  EXPECT_NAMES(msg, "1e999");
  EXPECT_EQ(msg.find("json.exception"), std::string::npos) << msg;
  EXPECT_NAMES(request_refusal(R"({"handler":{"sleep":{"seconds":1}},"timeoutMs":-1e999})"), "timeoutMs");
  // Through the C ABI: LIFEHOOK_E_INVALID, never E_SYSTEM.
  lifehook_test::Ctx ctx;
  char* error = nullptr;
  EXPECT_EQ(lifehook_run(ctx.get(), R"({"handler":{"sleep":{"seconds":1e999}}})", nullptr, &error), LIFEHOOK_E_INVALID);
  EXPECT_NAMES(lifehook_test::take(error), "handler.sleep.seconds");
}

TEST(InputValidation, PortsAreParsedAsKubernetesDoes) {
  // An IntOrString port written as a string is a port name; "080" is no name (no letter).
  std::string msg = request_refusal(R"({"handler":{"tcpSocket":{"port":"080","host":"127.0.0.1"}}})");
  EXPECT_NAMES(msg, "handler.tcpSocket.port");
  EXPECT_NAMES(msg, "IANA_SVC_NAME");
  EXPECT_NAMES(request_refusal(R"({"handler":{"httpGet":{"port":"80","host":"127.0.0.1"}}})"), "handler.httpGet.port");
  EXPECT_NAMES(request_refusal(with_target(R"({"ports":[{"name":"Web","containerPort":80}]})")),
               "target.ports[0].name");
  auto r = parse_request(
      R"({"handler":{"tcpSocket":{"port":"web-1","host":"127.0.0.1"}},"target":{"ports":[{"name":"web-1","containerPort":8080}]}})");
  EXPECT_EQ(std::get<TcpSocketSpec>(r.handler).port, 8080);
}

TEST(InputValidation, HeaderNamesAreTokensAndValuesHaveNoControls) {
  auto header = [](const std::string& name, const std::string& value) {
    return R"({"handler":{"httpGet":{"port":80,"host":"127.0.0.1","httpHeaders":[{"name":")" + name + R"(","value":")" +
           value + R"("}]}}})";
  };
  EXPECT_NAMES(request_refusal(header("X\\tA", "v")), "handler.httpGet.httpHeaders[0].name");
  EXPECT_NAMES(request_refusal(header("X(A)", "v")), "handler.httpGet.httpHeaders[0].name");
  EXPECT_NAMES(request_refusal(header("X A", "v")), "handler.httpGet.httpHeaders[0].name");
  EXPECT_NAMES(request_refusal(header("X", "a\\u0000b")), "handler.httpGet.httpHeaders[0].value");
  EXPECT_NAMES(request_refusal(header("X", "a\\u001bb")), "handler.httpGet.httpHeaders[0].value");
  EXPECT_NO_THROW(parse_request(header("X-Odd!#$%&'*+.^_`|~", "tab\\tok")));
}

TEST(InputValidation, HeaderListsAreBoundedAndRefusedFast) {
  std::string many = R"({"handler":{"httpGet":{"port":80,"host":"127.0.0.1","httpHeaders":[)";
  for (int i = 0; i < 100000; ++i) many += std::string(i ? "," : "") + R"({"name":"X","value":"v"})";
  many += "]}}}";
  auto start = std::chrono::steady_clock::now();
  std::string msg = request_refusal(many);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NAMES(msg, "handler.httpGet.httpHeaders");
  EXPECT_NAMES(msg, "at most 1024");
  // Generous (ASan builds parse the 3 MB document slowly): guards against per-header work, not speed.
  EXPECT_LT(ms, 20000) << "took " << ms << " ms to refuse";

  // A value over the 1 MiB header budget, inside the 4 MiB request bound: the header check names it.
  std::string huge = R"({"handler":{"httpGet":{"port":80,"host":"127.0.0.1","httpHeaders":[{"name":"X","value":")" +
                     std::string(2 << 20, 'v') + R"("}]}}})";
  msg = request_refusal(huge);
  EXPECT_NAMES(msg, "handler.httpGet.httpHeaders");
  EXPECT_NAMES(msg, "1048576");
  // The issue's 20 MB value is refused before any parsing, by the request's own size bound.
  std::string twenty = R"({"handler":{"httpGet":{"port":80,"host":"127.0.0.1","httpHeaders":[{"name":"X","value":")" +
                       std::string(20 << 20, 'v') + R"("}]}}})";
  EXPECT_NAMES(request_refusal(twenty), "4194304");
}

TEST(InputValidation, UserAgentWithCrLfIsRefused) {
  lifehook_ctx* ctx = nullptr;
  char* error = nullptr;
  EXPECT_EQ(lifehook_ctx_new(R"({"userAgent":"ua\r\nX-Injected: 1"})", &ctx, &error), LIFEHOOK_E_INVALID);
  EXPECT_EQ(ctx, nullptr);
  EXPECT_NAMES(lifehook_test::take(error), "options.userAgent");
  EXPECT_EQ(lifehook_ctx_new(R"J({"userAgent":"lifehook-test/1 (ok)"})J", &ctx, &error), LIFEHOOK_OK);
  lifehook_ctx_free(ctx);
}
