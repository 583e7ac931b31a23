// The grpc handler through the C ABI against real servers on 127.0.0.1: a gRPC health server on
// Debian's python3-grpcio (grpc_test_server.hpp), a server without the health service, an
// HTTP/1.1 server, TCP servers that talk garbage or nothing, and a closed port. Outcomes and
// messages as the kubelet's pkg/probe/grpc.
#include <poll.h>
#include <sys/socket.h>

#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "api_support.hpp"
#include "http_test_server.hpp"
#include "plugin/common/errors.hpp"
#include "plugin/pod/spec.hpp"
#include "servers/grpc_health_server.hpp"

using namespace lifehook_test;
using lifehook::test::GrpcHealthServer;
using lifehook::test::ScriptedResponse;
using lifehook::test::TestHttpServer;

namespace {

std::string grpc_request(int port, const std::string& service = "", int timeout_ms = 5000) {
  json g = {{"host", "127.0.0.1"}, {"port", port}};
  if (!service.empty()) g["service"] = service;
  return json{{"handler", {{"grpc", g}}}, {"timeoutMs", timeout_ms}}.dump();
}

std::string message(const json& r) { return r.value("message", ""); }

int invalid(const std::string& request, std::string& error) {
  Ctx ctx;
  char* result = nullptr;
  char* err = nullptr;
  int rc = lifehook_run(ctx.get(), request.c_str(), &result, &err);
  lifehook_free(result);
  error = take(err);
  return rc;
}

// A TCP server on 127.0.0.1 that accepts connections, writes `greeting` (maybe nothing) and keeps
// each connection open until the client closes it.
class RawServer {
 public:
  explicit RawServer(std::string greeting) : greeting_(std::move(greeting)) {
    thread_ = std::thread([this] {
      std::vector<int> conns;
      for (;;) {
        pollfd p{listener_.fd(), POLLIN, 0};
        int ready = ::poll(&p, 1, 50);
        if (stop_) break;
        if (ready != 1) continue;
        int c = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        ++accepted_;
        if (!greeting_.empty()) (void)!::write(c, greeting_.data(), greeting_.size());
        conns.push_back(c);
      }
      for (int c : conns) ::close(c);
    });
  }
  ~RawServer() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return listener_.port(); }
  int accepted() const { return accepted_; }

 private:
  Listener listener_;
  std::string greeting_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// lifehook_submit with a done callback that delivers the result document.
struct Submitted {
  std::promise<json> result;
  static void done(void* user, uint64_t, const char* result_json) {
    static_cast<Submitted*>(user)->result.set_value(json::parse(result_json));
  }
};

uint64_t submit(const Ctx& ctx, const std::string& request, Submitted& s) {
  uint64_t op = 0;
  char* error = nullptr;
  int rc = lifehook_submit(ctx.get(), request.c_str(), &Submitted::done, &s, &op, &error);
  EXPECT_EQ(rc, LIFEHOOK_OK) << take(error);
  return op;
}

#define START_SERVER(server) ASSERT_EQ((server).error(), "")

}  // namespace

TEST(Grpc, ServingIsSuccess) {
  GrpcHealthServer server;
  START_SERVER(server);
  Ctx ctx;
  json r = ctx.run(grpc_request(server.port()));  // the server as a whole: service ""
  EXPECT_EQ(r["outcome"], "success") << r.dump();
  EXPECT_EQ(message(r), "service healthy");
  r = ctx.run(grpc_request(server.port(), "serving"));
  EXPECT_EQ(r["outcome"], "success") << r.dump();
}

TEST(Grpc, NotServingAndOtherStatusesAreFailures) {
  GrpcHealthServer server;
  START_SERVER(server);
  Ctx ctx;
  json r = ctx.run(grpc_request(server.port(), "not-serving"));
  EXPECT_EQ(r["outcome"], "failure") << r.dump();
  EXPECT_EQ(message(r), "service unhealthy (responded with \"NOT_SERVING\")");
  r = ctx.run(grpc_request(server.port(), "service-unknown"));
  EXPECT_EQ(r["outcome"], "failure") << r.dump();
  EXPECT_EQ(message(r), "service unhealthy (responded with \"SERVICE_UNKNOWN\")");
  r = ctx.run(grpc_request(server.port(), "unset"));  // the empty message: status UNKNOWN
  EXPECT_EQ(r["outcome"], "failure") << r.dump();
  EXPECT_EQ(message(r), "service unhealthy (responded with \"UNKNOWN\")");
}

TEST(Grpc, UnknownServiceIsAFailureWithTheServersStatus) {
  GrpcHealthServer server;
  START_SERVER(server);
  Ctx ctx;
  json r = ctx.run(grpc_request(server.port(), "no-such-service"));
  EXPECT_EQ(r["outcome"], "failure") << r.dump();
  EXPECT_EQ(message(r), "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service");
}

TEST(Grpc, AServerWithoutTheHealthServiceDoesNotImplementTheProtocol) {
  GrpcHealthServer server(GrpcHealthServer::Options{.no_health = true});
  START_SERVER(server);
  Ctx ctx;
  json r = ctx.run(grpc_request(server.port()));
  EXPECT_EQ(r["outcome"], "failure") << r.dump();
  EXPECT_EQ(
      message(r).rfind("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ", 0),
      0u)
      << r.dump();
}

TEST(Grpc, SendsTheTimeoutAsGrpcTimeoutAndTheUserAgent) {
  GrpcHealthServer server(GrpcHealthServer::Options{.log = true});
  START_SERVER(server);
  {
    Ctx ctx;
    EXPECT_EQ(ctx.run(grpc_request(server.port(), "serving-a", 3000))["outcome"], "success");
    EXPECT_EQ(ctx.run(grpc_request(server.port(), "serving-b", 0))["outcome"], "success");  // no timeout: none sent
  }
  {
    Ctx compat(R"({"kubeletCompat": true})");
    EXPECT_EQ(compat.run(grpc_request(server.port(), "serving-c", 1000))["outcome"], "success");
  }
  auto calls = server.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0]["service"], "serving-a");
  double remaining = calls[0]["timeRemaining"].get<double>();
  EXPECT_GT(remaining, 1.0);  // the server's deadline is ours (3 s), less the time in transit
  EXPECT_LE(remaining, 3.0);
  EXPECT_EQ(calls[0]["metadata"]["user-agent"].get<std::string>().rfind("lifehook/", 0), 0u) << calls[0].dump();
  EXPECT_GT(calls[1]["timeRemaining"].get<double>(), 1e9) << calls[1].dump();  // grpcio's "no deadline"
  EXPECT_EQ(calls[2]["metadata"]["user-agent"].get<std::string>().rfind("kube-probe/1.", 0), 0u) << calls[2].dump();
}

TEST(Grpc, ASlowServerTimesOutWithinTheTimeout) {
  GrpcHealthServer server;
  START_SERVER(server);
  Ctx ctx;
  auto t0 = std::chrono::steady_clock::now();
  json r = ctx.run(grpc_request(server.port(), "slow", 300));
  double wall = ms_since(t0);
  EXPECT_EQ(r["outcome"], "timeout") << r.dump();
  EXPECT_EQ(message(r), "timeout: health rpc did not complete within 300ms");
  EXPECT_GE(wall, 290.0);
  EXPECT_LT(wall, 3000.0);  // generous for loaded CI and sanitizers
  // The server's own DEADLINE_EXCEEDED is a timeout too.
  r = ctx.run(grpc_request(server.port(), "deadline", 2000));
  EXPECT_EQ(r["outcome"], "timeout") << r.dump();
  EXPECT_EQ(message(r), "timeout: health rpc did not complete within 2s");
}

TEST(Grpc, ResponsesAreBoundedAndChecked) {
  GrpcHealthServer server;
  START_SERVER(server);
  Ctx ctx;
  json r = ctx.run(grpc_request(server.port(), "big"));
  EXPECT_EQ(r["outcome"], "failure") << r.dump();
  EXPECT_EQ(message(r),
            "error: health rpc probe failed: rpc error: code = ResourceExhausted desc = grpc: received message larger "
            "than max (65540 vs. 10240)");
  r = ctx.run(grpc_request(server.port(), "garbage"));
  EXPECT_EQ(r["outcome"], "failure") << r.dump();
  EXPECT_NE(message(r).find("code = Internal desc = grpc: failed to unmarshal"), std::string::npos) << r.dump();
}

TEST(Grpc, AClosedPortIsAFailure) {
  Ctx ctx;
  int port = closed_port();
  json r = ctx.run(grpc_request(port));
  EXPECT_EQ(r["outcome"], "failure") << r.dump();
  std::string expected = "error: failed to connect service at \"127.0.0.1:" + std::to_string(port) + "\": ";
  EXPECT_EQ(message(r).rfind(expected, 0), 0u) << r.dump();
  EXPECT_NE(message(r).find("onnect"), std::string::npos) << r.dump();
}

TEST(Grpc, AnHttp11ServerIsAFailureNotATimeout) {
  TestHttpServer http([](const lifehook::test::RecordedRequest&) {
    ScriptedResponse s;
    s.status = 400;
    return s;
  });
  Ctx ctx;
  auto t0 = std::chrono::steady_clock::now();
  json r = ctx.run(grpc_request(http.port(), "", 5000));
  EXPECT_EQ(r["outcome"], "failure") << r.dump();
  EXPECT_EQ(message(r).rfind("error: failed to connect service at \"127.0.0.1:" + std::to_string(http.port()) +
                                 "\": the server does not speak HTTP/2",
                             0),
            0u)
      << r.dump();
  EXPECT_LT(ms_since(t0), 4000.0);
}

TEST(Grpc, AServerThatTalksGarbageIsAFailure) {
  RawServer ssh("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
  Ctx ctx;
  json r = ctx.run(grpc_request(ssh.port(), "", 5000));
  EXPECT_EQ(r["outcome"], "failure") << r.dump();
  EXPECT_NE(message(r).find("the server does not speak HTTP/2"), std::string::npos) << r.dump();
  EXPECT_EQ(ssh.accepted(), 1);
}

TEST(Grpc, AServerThatSaysNothingTimesOut) {
  RawServer silent("");
  Ctx ctx;
  json r = ctx.run(grpc_request(silent.port(), "", 300));
  EXPECT_EQ(r["outcome"], "timeout") << r.dump();
  EXPECT_EQ(message(r), "timeout: health rpc did not complete within 300ms");
}

TEST(Grpc, HostDefaultsToThePodIp) {
  GrpcHealthServer server;
  START_SERVER(server);
  Ctx ctx;
  json req = {
      {"handler", {{"grpc", {{"port", server.port()}}}}}, {"target", {{"podIP", "127.0.0.1"}}}, {"timeoutMs", 5000}};
  json r = ctx.run(req.dump());
  EXPECT_EQ(r["outcome"], "success") << r.dump();
  std::string error;
  EXPECT_EQ(invalid(R"({"handler":{"grpc":{"port":50051}}})", error), LIFEHOOK_E_INVALID);
  EXPECT_NE(error.find("handler.grpc.host"), std::string::npos) << error;
}

TEST(Grpc, InvalidFieldsNameTheirPath) {
  std::string error;
  const std::pair<const char*, const char*> cases[] = {
      {R"({"handler":{"grpc":{"host":"127.0.0.1"}}})", "handler.grpc.port: is required"},
      {R"({"handler":{"grpc":{"host":"127.0.0.1","port":"grpc"}}})", "handler.grpc.port: must be a port number"},
      {R"({"handler":{"grpc":{"host":"127.0.0.1","port":"50051"}}})", "handler.grpc.port: must be a port number"},
      {R"({"handler":{"grpc":{"host":"127.0.0.1","port":0}}})", "handler.grpc.port: must be between 1 and 65535"},
      {R"({"handler":{"grpc":{"host":"127.0.0.1","port":65536}}})", "handler.grpc.port: must be between 1 and 65535"},
      {R"({"handler":{"grpc":{"host":"127.0.0.1","port":1,"service":7}}})", "handler.grpc.service: must be a string"},
      {R"({"handler":{"grpc":{"host":"a b","port":1}}})", "handler.grpc.host: must be a host name"},
      {R"({"handler":{"grpc":"x"}})", "handler.grpc: must be an object"},
      {R"({"handler":{"grpc":{"port":1},"tcpSocket":{"port":1}},"target":{"podIP":"127.0.0.1"}})",
       "found tcpSocket and grpc"},
  };
  for (const auto& [request, expected] : cases) {
    EXPECT_EQ(invalid(request, error), LIFEHOOK_E_INVALID) << request;
    EXPECT_NE(error.find(expected), std::string::npos) << request << " -> " << error;
  }
  json long_service = {
      {"handler", {{"grpc", {{"host", "127.0.0.1"}, {"port", 1}, {"service", std::string(1025, 's')}}}}}};
  EXPECT_EQ(invalid(long_service.dump(), error), LIFEHOOK_E_INVALID);
  EXPECT_NE(error.find("handler.grpc.service: must be at most 1024 bytes"), std::string::npos) << error;
}

TEST(Grpc, CancelAndContextFreeCloseTheCall) {
  GrpcHealthServer server;
  START_SERVER(server);
  { Ctx warm_up; }
  int fds_before = count_fds();
  {
    Ctx ctx;
    Submitted canceled, freed;
    uint64_t op = submit(ctx, grpc_request(server.port(), "slow", 0), canceled);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(lifehook_cancel(ctx.get(), op), LIFEHOOK_OK);
    auto f = canceled.result.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    json r = f.get();
    EXPECT_EQ(r["outcome"], "canceled") << r.dump();
    submit(ctx, grpc_request(server.port(), "slow", 0), freed);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ctx.reset();  // in flight at lifehook_ctx_free: done still called, as canceled
    auto g = freed.result.get_future();
    ASSERT_EQ(g.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    EXPECT_EQ(g.get()["outcome"], "canceled");
  }
  EXPECT_TRUE(eventually([&] { return count_fds() == fds_before; })) << count_fds() << " vs " << fds_before;
}

TEST(Grpc, ConcurrentChecksShareTheLoop) {
  GrpcHealthServer server;
  START_SERVER(server);
  Ctx ctx;
  constexpr int kCalls = 20;
  std::vector<Submitted> results(kCalls);
  for (int i = 0; i < kCalls; ++i)
    submit(ctx, grpc_request(server.port(), i % 2 ? "serving" : "not-serving", 10000), results[i]);
  for (int i = 0; i < kCalls; ++i) {
    auto f = results[i].result.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    EXPECT_EQ(f.get()["outcome"], i % 2 ? "success" : "failure") << i;
  }
}

// Kubernetes' LifecycleHandler has no grpc (only probes do): a pod that asks for one is refused.
TEST(Grpc, IsNotALifecycleHandler) {
  for (const char* hook : {"postStart", "preStop"}) {
    json pod = {
        {"metadata", {{"name", "p"}}},
        {"spec",
         {{"containers",
           {{{"name", "web"}, {"command", {"sleep", "1"}}, {"lifecycle", {{hook, {{"grpc", {{"port", 50051}}}}}}}}}}}}};
    try {
      lifehook::pod::parse_pod_json(pod);
      ADD_FAILURE() << hook << ": accepted";
    } catch (const lifehook::Error& e) {
      EXPECT_EQ(e.status(), LIFEHOOK_E_INVALID);
      std::string expected = std::string("spec.containers[0].lifecycle.") + hook + ".grpc: is not a lifecycle handler";
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
}
