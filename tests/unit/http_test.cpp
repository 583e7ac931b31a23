// httpGet against real servers on loopback addresses started by the tests: status rules,
// redirects, timeouts, proxies, headers, the body cap, TLS, the HTTPS→HTTP fallback, sockets,
// concurrency, cancel and context shutdown.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>

#include "handlers/http_request.hpp"
#include "http_test_server.hpp"
#include "plugin/common/errors.hpp"
#include "plugin/context/context.hpp"

using namespace lifehook;
using lifehook::test::RecordedRequest;
using lifehook::test::ScriptedResponse;
using lifehook::test::TestHttpServer;
using lifehook::test::TestHttpsServer;

namespace {

ContextOptions options(bool kubelet_compat = false, const std::string& user_agent = "", bool verify_tls = false) {
  ContextOptions o;
  o.handler.kubelet_compat = kubelet_compat;
  o.handler.user_agent = user_agent;
  o.handler.verify_tls = verify_tls;
  return o;
}

json http_get(int port, const std::string& path = "/", const std::string& host = "127.0.0.1") {
  json h = {{"port", port}, {"path", path}};
  if (!host.empty()) h["host"] = host;
  return h;
}

Request request(const json& http_get_spec, int64_t timeout_ms = 5000, const std::string& purpose = "liveness",
                const json& target = json::object()) {
  json r = {{"handler", {{"httpGet", http_get_spec}}}, {"timeoutMs", timeout_ms}, {"purpose", purpose}};
  if (!target.empty()) r["target"] = target;
  return parse_request(r.dump());
}

Result run(Context& ctx, const Request& req) {
  Result r = ctx.run(req);
  // Everything a handler reports must be printable as the ABI's result JSON.
  EXPECT_NO_THROW((void)result_to_json(r).dump());
  return r;
}

std::string text(const Result& r) { return result_to_json(r).dump(); }

TestHttpServer::Script always(int status, std::string body = "ok") {
  return [status, body](const RecordedRequest&) {
    ScriptedResponse s;
    s.status = status;
    s.body = body;
    return s;
  };
}

ScriptedResponse redirect_to(const std::string& location, int status = 301) {
  ScriptedResponse s;
  s.status = status;
  s.headers = {{"Location", location}};
  s.body = "moved";
  return s;
}

bool has_warning(const Result& r, const std::string& needle) {
  return std::any_of(r.warnings.begin(), r.warnings.end(),
                     [&](const std::string& w) { return w.find(needle) != std::string::npos; });
}

}  // namespace

// ---- request building (pure) ---------------------------------------------------------------

TEST(HttpRequest, UrlIsBuiltFromPartsWithBracketedIpv6) {
  EXPECT_EQ(url_text(build_url(false, "127.0.0.1", 8080, "/healthz?x=1#frag", "h").get()),
            "http://127.0.0.1:8080/healthz?x=1");
  EXPECT_EQ(url_text(build_url(true, "::1", 443, "/", "h").get()), "https://[::1]:443/");
  // Non-ASCII bytes are percent-encoded (curl may print the hex digits in either case).
  EXPECT_EQ(strcasecmp(url_text(build_url(false, "example.test", 80, "/a%20b/\xC3\xA9", "h").get()).c_str(),
                       "http://example.test:80/a%20b/%C3%A9"),
            0);
}

TEST(HttpRequest, HeaderPlanFollowsTheKubelet) {
  HandlerOptions o;
  auto plan = plan_headers({{"X-A", "1"}, {"X-A", "2"}, {"Host", "vhost"}, {"Host", "second"}, {"X-Empty", ""}}, o,
                           Purpose::Liveness, true, false);
  EXPECT_EQ(plan.lines, (std::vector<std::string>{"X-A: 1", "X-A: 2", "Host: vhost", "X-Empty;", "Accept: */*",
                                                  "Connection: close"}));
  EXPECT_EQ(plan.user_agent, "lifehook/" LIFEHOOK_VERSION_STRING);
  plan = plan_headers({{"Accept", ""}, {"User-Agent", "mine"}, {"Authorization", "Bearer x"}, {"Host", "v"}}, o,
                      Purpose::Liveness, false, true);
  EXPECT_EQ(plan.lines, (std::vector<std::string>{"Accept:", "User-Agent: mine", "Connection: close"}));
  EXPECT_EQ(plan.user_agent, "");
}

TEST(HttpRequest, Utf8ExcerptReplacesInvalidBytes) {
  EXPECT_EQ(utf8_excerpt("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(utf8_excerpt("a\xFF"
                         "b\xC3"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
}

TEST(HttpRequest, MissingHostIsInvalid) {
  Context ctx(options());
  try {
    ctx.submit(request({{"port", 80}}), [](uint64_t, const Result&) {});
    FAIL() << "accepted an httpGet without host or podIP";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), LIFEHOOK_E_INVALID);
    EXPECT_NE(std::string(e.what()).find("handler.httpGet.host"), std::string::npos) << e.what();
  }
}

// ---- status codes ---------------------------------------------------------------------------

TEST(HttpGet, StatusDecidesTheOutcome) {
  Context ctx(options());
  for (int status : {200, 204, 399, 400, 404, 500}) {
    TestHttpServer server(always(status, "body of " + std::to_string(status)));
    Result r = run(ctx, request(http_get(server.port())));
    bool expect_success = status < 400;
    EXPECT_EQ(r.outcome, expect_success ? Outcome::Success : Outcome::Failure) << status << " " << text(r);
    ASSERT_TRUE(r.http_status.has_value()) << text(r);
    EXPECT_EQ(*r.http_status, status);
    if (!expect_success) {
      EXPECT_EQ(r.message, "HTTP probe failed with statuscode: " + std::to_string(status));
    } else if (status != 204) {
      EXPECT_EQ(r.output.value_or(""), "body of " + std::to_string(status));
    }
  }
}

TEST(HttpGet, HookStatusIsCheckedUnlessKubeletCompat) {
  TestHttpServer server(always(500));
  {
    Context ctx(options());
    EXPECT_EQ(run(ctx, request(http_get(server.port()), 5000, "preStop")).outcome, Outcome::Failure);
    EXPECT_EQ(run(ctx, request(http_get(server.port()), 5000, "postStart")).outcome, Outcome::Failure);
  }
  {
    Context ctx(options(/*kubelet_compat=*/true));  // kubernetes#56963: any response is success for hooks
    Result r = run(ctx, request(http_get(server.port()), 5000, "preStop"));
    EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
    EXPECT_EQ(r.http_status.value_or(0), 500);
    EXPECT_EQ(run(ctx, request(http_get(server.port()), 5000, "liveness")).outcome, Outcome::Failure);
  }
}

TEST(HttpGet, ConnectionRefusedIsAFailure) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // a port nobody listens on
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  Context ctx(options());
  Result r = run(ctx, request(http_get(ntohs(a.sin_port))));
  ::close(fd);
  EXPECT_EQ(r.outcome, Outcome::Failure) << text(r);
  EXPECT_FALSE(r.http_status.has_value());
  EXPECT_NE(r.message.find("onnect"), std::string::npos) << r.message;
}

TEST(HttpGet, PortByNameAndHostFromPodIP) {
  TestHttpServer server(always(200));
  Context ctx(options());
  json target = {{"podIP", "127.0.0.1"}, {"ports", {{{"name", "web"}, {"containerPort", server.port()}}}}};
  Result r = run(ctx, request({{"port", "web"}, {"path", "/named"}}, 5000, "readiness", target));
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  ASSERT_EQ(server.request_count(), 1u);
  EXPECT_EQ(server.requests()[0].target, "/named");
}

TEST(HttpGet, Ipv6LiteralHost) {
  std::unique_ptr<TestHttpServer> server;
  try {
    server = std::make_unique<TestHttpServer>(always(200), "::1");
  } catch (const std::exception&) {
    GTEST_SKIP() << "no IPv6 loopback on this machine";
  }
  Context ctx(options());
  Result r = run(ctx, request(http_get(server->port(), "/v6", "::1")));
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  ASSERT_EQ(server->request_count(), 1u);
  EXPECT_EQ(server->requests()[0].get("Host"), "[::1]:" + std::to_string(server->port()));
}

// ---- redirects ------------------------------------------------------------------------------

TEST(HttpGet, RedirectToTheSameHostIsFollowed) {
  TestHttpServer other_port(always(200, "final"));
  std::string elsewhere = "http://127.0.0.1:" + std::to_string(other_port.port()) + "/end";
  TestHttpServer server([&](const RecordedRequest& req) {
    if (req.target == "/start") return redirect_to("/middle");
    if (req.target == "/middle") return redirect_to(elsewhere, 302);  // new port, same host: followed
    return redirect_to("/start");
  });
  Context ctx(options());
  Result r = run(ctx, request(http_get(server.port(), "/start")));
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  EXPECT_EQ(r.http_status.value_or(0), 200);
  EXPECT_EQ(r.output.value_or(""), "final");
  EXPECT_TRUE(r.warnings.empty()) << text(r);
  EXPECT_EQ(server.request_count(), 2u);
  ASSERT_EQ(other_port.request_count(), 1u);
  EXPECT_EQ(other_port.requests()[0].target, "/end");
}

TEST(HttpGet, RedirectToAnotherHostIsNotFollowedButSucceedsWithAWarning) {
  TestHttpServer other_host(always(200), "127.0.0.2");
  std::string elsewhere = "http://127.0.0.2:" + std::to_string(other_host.port()) + "/x";
  TestHttpServer server([&](const RecordedRequest&) { return redirect_to(elsewhere); });
  Context ctx(options());
  Result r = run(ctx, request(http_get(server.port())));
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  EXPECT_EQ(r.http_status.value_or(0), 301);
  EXPECT_TRUE(has_warning(r, "not followed (other host)")) << text(r);
  EXPECT_EQ(other_host.request_count(), 0u);
}

TEST(HttpGet, TenRedirectsAreFollowedTheEleventhFails) {
  auto chain = [](int hops) {
    return [hops](const RecordedRequest& req) {
      int n = std::atoi(req.target.c_str() + 1);
      if (n < hops) return redirect_to("/" + std::to_string(n + 1));
      ScriptedResponse s;
      s.body = "done";
      return s;
    };
  };
  Context ctx(options());
  TestHttpServer ten(chain(10));
  Result r = run(ctx, request(http_get(ten.port(), "/0")));
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  EXPECT_EQ(ten.request_count(), 11u);

  TestHttpServer eleven(chain(11));
  r = run(ctx, request(http_get(eleven.port(), "/0")));
  EXPECT_EQ(r.outcome, Outcome::Failure) << text(r);
  EXPECT_NE(r.message.find("stopped after 10 redirects"), std::string::npos) << r.message;
  EXPECT_EQ(eleven.request_count(), 11u);  // the 11th redirect is not followed
}

TEST(HttpGet, SchemeChangingRedirectIsNotFollowed) {
  // kubernetes#136698: following http→https on a plain-HTTP server fails healthy pods.
  TestHttpServer server([](const RecordedRequest& req) {
    ScriptedResponse s;
    if (req.target == "/") return redirect_to("https://127.0.0.1:" + req.get("Host").substr(10) + "/secure");
    return s;
  });
  Context ctx(options());
  Result r = run(ctx, request(http_get(server.port())));
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  EXPECT_EQ(r.http_status.value_or(0), 301);
  EXPECT_TRUE(has_warning(r, "scheme change")) << text(r);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(HttpGet, RelativeRedirectKeepsTheVirtualHost) {
  TestHttpServer server([](const RecordedRequest& req) {
    if (req.target == "/") return redirect_to("/next");
    return ScriptedResponse{};
  });
  Context ctx(options());
  json spec = http_get(server.port());
  spec["httpHeaders"] = {{{"name", "Host"}, {"value", "vhost.test"}}};
  Result r = run(ctx, request(spec));
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].get("Host"), "vhost.test");
}

// ---- timeouts, cancel, shutdown -------------------------------------------------------------

TEST(HttpGet, SlowServerTimesOutOnTime) {
  TestHttpServer server([](const RecordedRequest&) {
    ScriptedResponse s;
    s.delay_ms = 5000;
    return s;
  });
  Context ctx(options());
  const int64_t timeout = 200;
  Result r = run(ctx, request(http_get(server.port()), timeout));
  std::printf("[ timing   ] httpGet timeout %lldms: finished after %.2fms (overshoot %.2fms)\n",
              static_cast<long long>(timeout), r.duration_ms, r.duration_ms - timeout);
  EXPECT_EQ(r.outcome, Outcome::Timeout) << text(r);
  EXPECT_GE(r.duration_ms, timeout - 1);
  EXPECT_LT(r.duration_ms, timeout + 250);  // the target is +50 ms; generous for loaded CI/ASan
  EXPECT_TRUE(server.wait_hangups(1, 3000)) << "the connection stayed open after the timeout";
}

TEST(HttpGet, ConcurrentTimeoutsLandOnTime) {
  TestHttpServer server([](const RecordedRequest&) {
    ScriptedResponse s;
    s.delay_ms = 5000;
    return s;
  });
  Context ctx(options());
  const int n = 50;
  const int64_t timeout = 150;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<double> durations;
  for (int i = 0; i < n; ++i)
    ctx.submit(request(http_get(server.port()), timeout), [&](uint64_t, const Result& r) {
      std::lock_guard<std::mutex> lock(mu);
      EXPECT_EQ(r.outcome, Outcome::Timeout);
      durations.push_back(r.duration_ms);
      cv.notify_all();
    });
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return durations.size() == size_t(n); }));
  double worst = *std::max_element(durations.begin(), durations.end());
  double best = *std::min_element(durations.begin(), durations.end());
  std::printf("[ timing   ] %d concurrent httpGet timeouts of %lldms: %.2f..%.2fms (worst overshoot %.2fms)\n", n,
              static_cast<long long>(timeout), best, worst, worst - timeout);
  EXPECT_GE(best, timeout - 1);
  EXPECT_LT(worst, timeout + 250);
}

TEST(HttpGet, CancelStopsTheRequestAndClosesTheConnection) {
  TestHttpServer server([](const RecordedRequest&) {
    ScriptedResponse s;
    s.delay_ms = 5000;
    return s;
  });
  Context ctx(options());
  std::promise<Result> done;
  auto result = done.get_future();
  uint64_t op = ctx.submit(request(http_get(server.port()), 0), [&](uint64_t, const Result& r) { done.set_value(r); });
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server.request_count() == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(server.request_count(), 1u);
  ASSERT_TRUE(ctx.cancel(op));
  ASSERT_EQ(result.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  Result r = result.get();
  EXPECT_EQ(r.outcome, Outcome::Canceled) << text(r);
  EXPECT_TRUE(server.wait_hangups(1, 3000)) << "the connection stayed open after cancel";
}

TEST(HttpGet, FreeingTheContextCancelsRequestsInFlight) {
  TestHttpServer server([](const RecordedRequest&) {
    ScriptedResponse s;
    s.delay_ms = 5000;
    return s;
  });
  std::promise<Result> done;
  auto result = done.get_future();
  auto started = std::chrono::steady_clock::now();
  {
    Context ctx(options());
    ctx.submit(request(http_get(server.port()), 0), [&](uint64_t, const Result& r) { done.set_value(r); });
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (server.request_count() == 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
  ASSERT_EQ(result.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(result.get().outcome, Outcome::Canceled);
  EXPECT_TRUE(server.wait_hangups(1, 3000));
}

// ---- sockets --------------------------------------------------------------------------------

TEST(HttpGet, SocketsAreCloseOnExecWithLinger) {
  TestHttpServer server([](const RecordedRequest&) {
    ScriptedResponse s;
    s.delay_ms = 5000;
    return s;
  });
  Context ctx(options());
  std::promise<Result> done;
  auto result = done.get_future();
  uint64_t op = ctx.submit(request(http_get(server.port()), 0), [&](uint64_t, const Result& r) { done.set_value(r); });
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server.request_count() == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(server.request_count(), 1u);
  // Every descriptor of this process is close-on-exec (the test's own are opened so too), and
  // the client connection to the server lingers 1 s.
  int clients = 0;
  DIR* dir = opendir("/proc/self/fd");
  ASSERT_NE(dir, nullptr);
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == dirfd(dir)) continue;
    char link[128] = {};
    std::string path = std::string("/proc/self/fd/") + e->d_name;
    if (readlink(path.c_str(), link, sizeof link - 1) <= 0 || std::string_view(link).substr(0, 7) != "socket:")
      continue;
    EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC) << "socket fd " << fd << " is inherited by exec";
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 && peer.ss_family == AF_INET &&
        ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port) == server.port()) {
      ++clients;
      linger l{};
      socklen_t ll = sizeof l;
      ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &ll), 0);
      EXPECT_EQ(l.l_onoff, 1);
      EXPECT_EQ(l.l_linger, 1);
    }
  }
  closedir(dir);
  EXPECT_EQ(clients, 1);
  ctx.cancel(op);
  EXPECT_EQ(result.wait_for(std::chrono::seconds(2)), std::future_status::ready);
}

// ---- proxies, headers -----------------------------------------------------------------------

TEST(HttpGet, ProxyEnvironmentIsIgnored) {
  TestHttpServer server(always(200));
  const char* vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
  for (const char* v : vars) setenv(v, "http://127.0.0.1:1", 1);  // before any thread of ours reads it
  Result r;
  {
    Context ctx(options());
    r = run(ctx, request(http_get(server.port())));
  }
  for (const char* v : vars) unsetenv(v);
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  ASSERT_EQ(server.request_count(), 1u);
  EXPECT_EQ(server.requests()[0].target, "/");  // not an absolute-form proxy request
}

TEST(HttpGet, HeadersArriveAsTheKubeletSendsThem) {
  TestHttpServer server(always(200));
  Context ctx(options());
  json spec = http_get(server.port(), "/hdr?q=1");
  spec["httpHeaders"] = {{{"name", "Host"}, {"value", "vhost.example"}},
                         {{"name", "X-Custom"}, {"value", "one"}},
                         {{"name", "X-Custom"}, {"value", "two"}},
                         {{"name", "Authorization"}, {"value", "Bearer t"}}};
  Result r = run(ctx, request(spec));
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& q = reqs[0];
  EXPECT_EQ(q.method, "GET");
  EXPECT_EQ(q.target, "/hdr?q=1");
  EXPECT_EQ(q.all("Host"), std::vector<std::string>{"vhost.example"});
  EXPECT_EQ(q.all("X-Custom"), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(q.get("Authorization"), "Bearer t");
  EXPECT_EQ(q.get("Accept"), "*/*");
  EXPECT_EQ(q.get("User-Agent"), "lifehook/" LIFEHOOK_VERSION_STRING);
  EXPECT_EQ(q.get("Connection"), "close");
  EXPECT_FALSE(q.has("Accept-Encoding")) << q.raw;
  EXPECT_FALSE(q.has("Proxy-Connection")) << q.raw;
}

TEST(HttpGet, UserAgentAndAcceptChoices) {
  TestHttpServer server(always(200));
  auto agent_of = [&](const ContextOptions& o, const std::string& purpose, json headers = json::array()) {
    Context ctx(o);
    json spec = http_get(server.port());
    if (!headers.empty()) spec["httpHeaders"] = headers;
    EXPECT_EQ(run(ctx, request(spec, 5000, purpose)).outcome, Outcome::Success);
    return server.requests().back();
  };
  EXPECT_EQ(agent_of(options(true), "liveness").get("User-Agent"), "kube-probe/1.35");
  EXPECT_EQ(agent_of(options(true), "startup").get("User-Agent"), "kube-probe/1.35");
  EXPECT_EQ(agent_of(options(true), "postStart").get("User-Agent"), "kube-lifecycle/1.35");
  EXPECT_EQ(agent_of(options(true), "preStop").get("User-Agent"), "kube-lifecycle/1.35");
  EXPECT_EQ(agent_of(options(false, "agent/9"), "preStop").get("User-Agent"), "agent/9");
  auto q = agent_of(options(true), "liveness",
                    {{{"name", "User-Agent"}, {"value", "given/1"}}, {{"name", "Accept"}, {"value", ""}}});
  EXPECT_EQ(q.all("User-Agent"), std::vector<std::string>{"given/1"});
  EXPECT_FALSE(q.has("Accept")) << q.raw;  // an explicitly empty Accept removes it
  q = agent_of(options(), "liveness", {{{"name", "Accept"}, {"value", "application/json"}}});
  EXPECT_EQ(q.all("Accept"), std::vector<std::string>{"application/json"});
}

// ---- body -----------------------------------------------------------------------------------

TEST(HttpGet, EndlessBodyIsCappedAt10KiBAndSucceeds) {
  TestHttpServer server([](const RecordedRequest&) {
    ScriptedResponse s;
    s.endless = true;
    return s;
  });
  Context ctx(options());
  Result r = run(ctx, request(http_get(server.port()), 10000));
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  EXPECT_EQ(r.http_status.value_or(0), 200);
  EXPECT_LT(r.duration_ms, 5000);
  EXPECT_TRUE(r.truncated.value_or(false));
  EXPECT_LE(r.output.value_or("").size(), 1024u);
  EXPECT_EQ(r.output.value_or("").substr(0, 4), "xxxx");
  EXPECT_TRUE(server.wait_hangups(1, 3000)) << "the endless response was not cut off";
}

TEST(HttpGet, BodyExcerptIsBoundedAndValidUtf8) {
  TestHttpServer server(always(200, std::string(3000, 'a') + "\xFF"));
  Context ctx(options());
  Result r = run(ctx, request(http_get(server.port())));
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  EXPECT_EQ(r.output.value_or(""), std::string(1024, 'a'));
  EXPECT_TRUE(r.truncated.value_or(false));
  TestHttpServer binary(always(200, "\xFE\xFF"));
  r = run(ctx, request(http_get(binary.port())));
  EXPECT_EQ(r.output.value_or(""), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

// ---- TLS ------------------------------------------------------------------------------------

TEST(HttpGet, HttpsWithoutCertificateVerification) {
  TestHttpsServer tls;
  if (!tls.available()) GTEST_SKIP() << tls.why();
  json spec = http_get(tls.port(), "/tls");
  spec["scheme"] = "HTTPS";
  {
    Context ctx(options());
    Result r = run(ctx, request(spec));
    EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
    EXPECT_EQ(r.output.value_or(""), "secure /tls");
    EXPECT_TRUE(r.warnings.empty()) << text(r);
  }
  {
    Context ctx(options(false, "", /*verify_tls=*/true));  // a self-signed certificate: rejected
    Result r = run(ctx, request(spec));
    EXPECT_EQ(r.outcome, Outcome::Failure) << text(r);
    EXPECT_FALSE(r.http_status.has_value());
  }
}

TEST(HttpGet, HttpsToAPlainHttpServerFallsBackToHttp) {
  TestHttpServer server(always(200, "plain"));
  json spec = http_get(server.port(), "/fb");
  spec["scheme"] = "HTTPS";
  spec["httpHeaders"] = {{{"name", "Authorization"}, {"value", "Bearer secret"}}};
  Context ctx(options());
  Result r = run(ctx, request(spec, 5000, "postStart"));
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  EXPECT_EQ(r.output.value_or(""), "plain");
  std::string expected =
      "request to HTTPS 127.0.0.1:" + std::to_string(server.port()) + " got HTTP response, retry with HTTP succeeded";
  EXPECT_TRUE(has_warning(r, expected)) << text(r);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_FALSE(reqs[0].parsed);  // the TLS ClientHello
  EXPECT_EQ(reqs[1].target, "/fb");
  EXPECT_FALSE(reqs[1].has("Authorization")) << reqs[1].raw;
}

TEST(HttpGet, KubeletCompatProbesDoNotFallBackToHttp) {
  // The kubelet's fallback lives in its hook runner only; its probes fail on the TLS error.
  TestHttpServer server(always(200));
  json spec = http_get(server.port());
  spec["scheme"] = "https";
  Context ctx(options(/*kubelet_compat=*/true));
  Result r = run(ctx, request(spec, 5000, "readiness"));
  EXPECT_EQ(r.outcome, Outcome::Failure) << text(r);
  EXPECT_EQ(server.request_count(), 1u);  // only the ClientHello
  r = run(ctx, request(spec, 5000, "preStop"));
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
  EXPECT_TRUE(has_warning(r, "retry with HTTP succeeded")) << text(r);
}

TEST(HttpGet, HostNamesAreResolved) {
  TestHttpServer server(always(200));
  Context ctx(options());
  Result r = run(ctx, request(http_get(server.port(), "/", "localhost")));
  // localhost may resolve to ::1 first; curl falls back to 127.0.0.1 (happy eyeballs).
  EXPECT_EQ(r.outcome, Outcome::Success) << text(r);
}

TEST(HttpGet, NoDescriptorIsLeftAfterTheContextIsFreed) {
  auto count_fds = [] {
    int n = 0;
    DIR* dir = opendir("/proc/self/fd");
    while (dirent* e = readdir(dir)) n += e->d_name[0] != '.';
    closedir(dir);
    return n;
  };
  TestHttpServer fast(always(200));
  TestHttpServer slow([](const RecordedRequest&) {
    ScriptedResponse s;
    s.delay_ms = 5000;
    return s;
  });
  { Context warm_up(options()); }  // process-wide one-time state (curl_global_init) is not a leak
  int before = count_fds();
  {
    Context ctx(options());
    for (int i = 0; i < 5; ++i) EXPECT_EQ(run(ctx, request(http_get(fast.port()))).outcome, Outcome::Success);
    EXPECT_EQ(run(ctx, request(http_get(slow.port()), 50)).outcome, Outcome::Timeout);
    ctx.submit(request(http_get(slow.port()), 0), [](uint64_t, const Result&) {});  // in flight at free
  }
  // The test servers close their ends on their own threads once they see the hang-up.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (count_fds() != before && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(count_fds(), before);
}

// ---- scale ----------------------------------------------------------------------------------

TEST(HttpGet, FiveHundredConcurrentRequestsComplete) {
  TestHttpServer server(always(200));
  Context ctx(options());  // the default 2 loop threads
  const int n = 500;
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0, succeeded = 0;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i)
    ctx.submit(request(http_get(server.port(), "/" + std::to_string(i)), 20000), [&](uint64_t, const Result& r) {
      std::lock_guard<std::mutex> lock(mu);
      ++finished;
      if (r.outcome == Outcome::Success) {
        ++succeeded;
      } else {
        ADD_FAILURE() << text(r);
      }
      cv.notify_all();
    });
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return finished == n; })) << finished;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("[ timing   ] %d concurrent httpGets on 2 threads: %.3fs, %.0f requests/s\n", n, secs, n / secs);
  EXPECT_EQ(succeeded, n);
  EXPECT_EQ(server.request_count(), size_t(n));
}
