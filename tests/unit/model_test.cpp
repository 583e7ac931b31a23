// Request parsing and validation: every invalid class is LIFEHOOK_E_INVALID naming the JSON path.
#include "handlers/model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "plugin/common/errors.hpp"

using namespace lifehook;

namespace {

std::string invalid_message(const std::string& text) {
  try {
    parse_request(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), LIFEHOOK_E_INVALID) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

}  // namespace

TEST(Model, ParsesEachHandlerKind) {
  auto r = parse_request(R"J({"handler":{"exec":{"command":["echo","$(A)","$$(A)"]}},
                             "target":{"env":[{"name":"A","value":"x"}]},"timeoutMs":250,"purpose":"preStop"})J");
  ASSERT_EQ(handler_kind(r.handler), "exec");
  EXPECT_EQ(std::get<ExecSpec>(r.handler).command, (std::vector<std::string>{"echo", "x", "$(A)"}));
  EXPECT_EQ(r.timeout_ms, 250);
  EXPECT_EQ(r.purpose, Purpose::PreStop);

  r = parse_request(R"J({"handler":{"httpGet":{"port":"http","path":"healthz","scheme":"https"}},
                        "target":{"podIP":"127.0.0.1","ports":[{"name":"http","containerPort":8080}]}})J");
  const auto& h = std::get<HttpGetSpec>(r.handler);
  EXPECT_EQ(h.port, 8080);
  EXPECT_EQ(h.path, "/healthz");
  EXPECT_TRUE(h.https);

  r = parse_request(R"J({"handler":{"tcpSocket":{"port":9090,"host":"127.0.0.1"}}})J");
  EXPECT_EQ(std::get<TcpSocketSpec>(r.handler).port, 9090);

  r = parse_request(R"J({"handler":{"sleep":{"seconds":0.25}}})J");
  EXPECT_EQ(std::get<SleepSpec>(r.handler).milliseconds, 250);
}

TEST(Model, UnknownVariablesStayAsWritten) { EXPECT_EQ(expand_vars("$(NOPE)-$(A)", {{"A", "1"}}), "$(NOPE)-1"); }

TEST(Model, InvalidRequestsNameThePath) {
  EXPECT_NE(invalid_message("not json").find("request"), std::string::npos);
  EXPECT_NE(invalid_message(R"J({"target":{}})J").find("handler"), std::string::npos);
  EXPECT_NE(invalid_message(R"J({"handler":{}})J").find("handler"), std::string::npos);
  auto two = invalid_message(R"J({"handler":{"exec":{"command":["true"]},"sleep":{"seconds":1}}})J");
  EXPECT_NE(two.find("exec and sleep"), std::string::npos) << two;
  auto p0 = invalid_message(R"J({"handler":{"tcpSocket":{"port":0,"host":"127.0.0.1"}}})J");
  EXPECT_NE(p0.find("handler.tcpSocket.port"), std::string::npos) << p0;
  EXPECT_NE(p0.find("0"), std::string::npos) << p0;
  auto p7 = invalid_message(R"J({"handler":{"httpGet":{"port":70000,"host":"127.0.0.1"}}})J");
  EXPECT_NE(p7.find("handler.httpGet.port"), std::string::npos) << p7;
  EXPECT_NE(p7.find("70000"), std::string::npos) << p7;
  auto pn = invalid_message(R"J({"handler":{"httpGet":{"port":"nope","host":"127.0.0.1"}}})J");
  EXPECT_NE(pn.find("handler.httpGet.port"), std::string::npos) << pn;
  EXPECT_NE(pn.find("nope"), std::string::npos) << pn;
  auto crlf = invalid_message(
      R"J({"handler":{"httpGet":{"port":80,"host":"127.0.0.1","httpHeaders":[{"name":"X","value":"a\r\nEvil: 1"}]}}})J");
  EXPECT_NE(crlf.find("handler.httpGet.httpHeaders[0].value"), std::string::npos) << crlf;
  auto space = invalid_message(R"J({"handler":{"httpGet":{"port":80,"host":"127.0.0.1","path":"/a b"}}})J");
  EXPECT_NE(space.find("handler.httpGet.path"), std::string::npos) << space;
  auto neg = invalid_message(R"J({"handler":{"sleep":{"seconds":-1}}})J");
  EXPECT_NE(neg.find("handler.sleep.seconds"), std::string::npos) << neg;
  auto empty = invalid_message(R"J({"handler":{"exec":{"command":[]}}})J");
  EXPECT_NE(empty.find("handler.exec.command"), std::string::npos) << empty;
  auto tmo = invalid_message(R"J({"handler":{"sleep":{"seconds":1}},"timeoutMs":-5})J");
  EXPECT_NE(tmo.find("timeoutMs"), std::string::npos) << tmo;
  auto scheme = invalid_message(R"J({"handler":{"httpGet":{"port":80,"host":"h","scheme":"ftp"}}})J");
  EXPECT_NE(scheme.find("handler.httpGet.scheme"), std::string::npos) << scheme;
}

TEST(Model, NonJsonGivesTheParsePosition) {
  auto msg = invalid_message("{\"handler\":\n  {\"sleep\": {\"seconds\": 1},}}");
  EXPECT_EQ(msg.rfind("request: is not valid JSON (parse error at line 2, column", 0), 0u) << msg;
  EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << msg;
}

TEST(Model, NetworkHandlersNeedAHostOrPodIP) {
  auto tcp = invalid_message(R"J({"handler":{"tcpSocket":{"port":80}}})J");
  EXPECT_NE(tcp.find("handler.tcpSocket.host"), std::string::npos) << tcp;
  auto http = invalid_message(R"J({"handler":{"httpGet":{"port":80}}})J");
  EXPECT_NE(http.find("handler.httpGet.host"), std::string::npos) << http;
  auto r = parse_request(R"J({"handler":{"tcpSocket":{"port":80}},"target":{"podIP":"127.0.0.1"}})J");
  EXPECT_EQ(std::get<TcpSocketSpec>(r.handler).host, "");
}

TEST(Model, ResultOmitsFieldsThatDoNotApply) {
  Result r;
  r.outcome = Outcome::Timeout;
  r.message = "m";
  r.duration_ms = 1.23456;
  json j = result_to_json(r);
  EXPECT_EQ(j["outcome"], "timeout");
  EXPECT_DOUBLE_EQ(j["durationMs"].get<double>(), 1.235);
  for (const char* k : {"exitCode", "signal", "httpStatus", "output", "truncated"}) EXPECT_FALSE(j.contains(k)) << k;
  EXPECT_TRUE(j["warnings"].is_array());
  r.exit_code = 3;
  r.signal = 9;
  r.truncated = true;
  j = result_to_json(r);
  EXPECT_EQ(j["exitCode"], 3);
  EXPECT_EQ(j["signal"], 9);
  EXPECT_EQ(j["truncated"], true);
}

// lifehook_run's text is result_json_text, written without building the document: byte for byte
// what result_to_json(r).dump(-1, ' ', false, replace) gives, for strings with every escape,
// UTF-8 valid and not, and durations of every magnitude.
TEST(Model, ResultTextIsTheDumpOfTheResultDocument) {
  std::mt19937_64 rng(20261202);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const std::vector<std::string> pieces = {"ok",
                                           "connected to 127.0.0.1:80",
                                           "\"",
                                           "\\",
                                           "\n",
                                           "\r\n",
                                           "\t",
                                           "\b",
                                           "\f",
                                           std::string(1, '\0'),
                                           "\x01",
                                           "\x1f",
                                           "\x7f",
                                           " ",
                                           "/",
                                           "\xc3\xa9",
                                           "\xe2\x82\xac",
                                           "\xf0\x9f\x98\x80",
                                           "\xc3",
                                           "\xff",
                                           "\xe2\x82",
                                           "\xed\xa0\x80",
                                           "\xc0\xaf",
                                           "\x80\x80"};
  auto text = [&] {
    std::string s;
    for (size_t i = pick(6); i > 0; --i) s += pieces[pick(pieces.size())];
    return s;
  };
  const double durations[] = {
      0,   -0.0, 1.23456,           0.0004,       0.0005,   1e-7,      12345.678, 1e20, 1e21, 1e300, -2.5,
      100, 1e16, 123456789012.3456, std::nan(""), HUGE_VAL, -HUGE_VAL, 0.1};
  for (int i = 0; i < 3000; ++i) {
    Result r;
    r.outcome = static_cast<Outcome>(pick(5));
    r.message = text();
    r.duration_ms =
        i < 18 ? durations[i] : std::ldexp(static_cast<double>(rng() % 1000000), static_cast<int>(pick(80)) - 40);
    if (pick(2)) r.exit_code = static_cast<int>(rng());
    if (pick(2)) r.signal = static_cast<int>(pick(64));
    if (pick(2)) r.http_status = static_cast<int>(pick(600));
    if (pick(2)) r.output = text();
    if (pick(2)) r.truncated = pick(2) == 1;
    for (size_t w = pick(3); w > 0; --w) r.warnings.push_back(text());
    ASSERT_EQ(result_json_text(r), result_to_json(r).dump(-1, ' ', false, json::error_handler_t::replace)) << i;
  }
}
