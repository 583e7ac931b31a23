// The tcpSocket handler against listeners the test opens on 127.0.0.1.
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>

#include <mutex>
#include <vector>

#include "api_support.hpp"

using namespace lifehook_test;

// ---- SO_LINGER observation -------------------------------------------------------------------
// The library is linked into this executable, so this definition interposes libc's setsockopt for
// it (and for every library the test loads). It forwards every call unchanged and records the
// SO_LINGER settings together with the peer port of the socket they were set on.
namespace {
struct LingerRecord {
  int peer_port;
  int onoff;
  int seconds;
};
std::mutex g_linger_mu;
std::vector<LingerRecord> g_lingers;
}  // namespace

extern "C" int setsockopt(int fd, int level, int name, const void* value, socklen_t len) __THROW {
  using Fn = int (*)(int, int, int, const void*, socklen_t);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "setsockopt"));
  if (level == SOL_SOCKET && name == SO_LINGER && len >= sizeof(linger)) {
    const auto* l = static_cast<const linger*>(value);
    sockaddr_storage peer{};
    socklen_t plen = sizeof peer;
    int port = -1;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) == 0) {
      if (peer.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port);
      if (peer.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&peer)->sin6_port);
    }
    std::lock_guard<std::mutex> lock(g_linger_mu);
    g_lingers.push_back({port, l->l_onoff, l->l_linger});
  }
  return real(fd, level, name, value, len);
}

namespace {

std::string tcp_request(const std::string& host, const std::string& port, const std::string& extra = "") {
  std::string h = host.empty() ? "" : R"("host":")" + host + R"(",)";
  return R"({"handler":{"tcpSocket":{)" + h + R"("port":)" + port + "}}" + extra + "}";
}

// Accepts one pending connection (waiting up to 2 s); -1 if none came.
int accept_one(const Listener& l) {
  pollfd p{l.fd(), POLLIN, 0};
  if (::poll(&p, 1, 2000) != 1) return -1;
  return ::accept4(l.fd(), nullptr, nullptr, SOCK_CLOEXEC);
}

}  // namespace

TEST(TcpSocket, ConnectsToAListenerAndClosesInOrder) {
  Listener l;
  Ctx ctx;
  json r = ctx.run(tcp_request("127.0.0.1", std::to_string(l.port())));
  EXPECT_EQ(r.at("outcome"), "success") << r.dump();
  EXPECT_NE(r.at("message").get<std::string>().find("connected"), std::string::npos);
  int c = accept_one(l);
  ASSERT_GE(c, 0) << "the handler's connection never reached the listener";
  // An orderly close (FIN, read returns 0), not an abortive RST (SO_LINGER with 0 s would give ECONNRESET).
  char buf[8];
  pollfd p{c, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  EXPECT_EQ(::read(c, buf, sizeof buf), 0) << strerror(errno);
  ::close(c);
}

TEST(TcpSocket, SetsSoLingerOneSecondBeforeClosing) {
  Listener l;
  Ctx ctx;
  ASSERT_EQ(ctx.run(tcp_request("127.0.0.1", std::to_string(l.port()))).at("outcome"), "success");
  std::lock_guard<std::mutex> lock(g_linger_mu);
  bool found = false;
  for (const auto& rec : g_lingers)
    if (rec.peer_port == l.port()) {
      found = true;
      EXPECT_EQ(rec.onoff, 1);
      EXPECT_EQ(rec.seconds, 1);
    }
  EXPECT_TRUE(found) << "no SO_LINGER was set on the connection to port " << l.port();
}

TEST(TcpSocket, RefusedPortIsFailure) {
  Ctx ctx;
  int port = closed_port();
  json r = ctx.run(tcp_request("127.0.0.1", std::to_string(port)));
  EXPECT_EQ(r.at("outcome"), "failure") << r.dump();
  EXPECT_NE(r.at("message").get<std::string>().find("refused"), std::string::npos) << r.dump();
}

TEST(TcpSocket, HostByNameLocalhost) {
  Listener l;
  Ctx ctx;
  json r = ctx.run(tcp_request("localhost", std::to_string(l.port()), R"(,"timeoutMs":5000)"));
  EXPECT_EQ(r.at("outcome"), "success") << r.dump();
}

TEST(TcpSocket, HostDefaultsToPodIP) {
  Listener l;
  Ctx ctx;
  json r = ctx.run(tcp_request("", std::to_string(l.port()), R"(,"target":{"podIP":"127.0.0.1"})"));
  EXPECT_EQ(r.at("outcome"), "success") << r.dump();
}

TEST(TcpSocket, NoHostAndNoPodIPIsInvalid) {
  Ctx ctx;
  char* error = nullptr;
  EXPECT_EQ(lifehook_run(ctx.get(), tcp_request("", "80").c_str(), nullptr, &error), LIFEHOOK_E_INVALID);
  std::string msg = take(error);
  EXPECT_NE(msg.find("handler.tcpSocket.host"), std::string::npos) << msg;
}

// A string port is a port name, as the API server requires (ValidatePortNumOrName): a numeric
// string is refused, not read as a number.
TEST(TcpSocket, PortByNameNotByNumericString) {
  Listener l;
  Ctx ctx;
  std::string target =
      R"(,"target":{"podIP":"127.0.0.1","ports":[{"name":"db","containerPort":)" + std::to_string(l.port()) + "}]}";
  EXPECT_EQ(ctx.run(tcp_request("", R"("db")", target)).at("outcome"), "success");
  char* error = nullptr;
  EXPECT_EQ(lifehook_run(ctx.get(), tcp_request("127.0.0.1", "\"" + std::to_string(l.port()) + "\"").c_str(), nullptr,
                         &error),
            LIFEHOOK_E_INVALID);
  EXPECT_NE(take(error).find("IANA_SVC_NAME"), std::string::npos);
  EXPECT_EQ(lifehook_run(ctx.get(), tcp_request("", R"("web")", target).c_str(), nullptr, &error), LIFEHOOK_E_INVALID);
  std::string msg = take(error);
  EXPECT_NE(msg.find("handler.tcpSocket.port"), std::string::npos) << msg;
  EXPECT_NE(msg.find("web"), std::string::npos) << msg;
}

// A listen(fd, 0) socket on 127.0.0.1 that never accepts: once its accept queue is full the
// kernel drops further SYNs, so a connect stays pending — a timeout without leaving loopback.
TEST(TcpSocket, TimeoutAgainstAFullAcceptQueue) {
  Listener l(0);
  std::vector<int> fillers;
  for (int i = 0; i < 16; ++i) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(l.port()));
    ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(s);
    pollfd p{s, POLLOUT, 0};
    if (::poll(&p, 1, 200) == 0) break;  // this one hangs: the queue is full
  }
  Ctx ctx;
  auto t0 = std::chrono::steady_clock::now();
  json r = ctx.run(tcp_request("127.0.0.1", std::to_string(l.port()), R"(,"timeoutMs":300)"));
  double wall = ms_since(t0);
  std::printf("tcpSocket against a full accept queue, timeoutMs 300: %s after %.1f ms\n",
              r.value("outcome", "?").c_str(), wall);
  EXPECT_EQ(r.at("outcome"), "timeout") << r.dump();
  EXPECT_GE(wall, 299.0);
  EXPECT_LT(wall, 300.0 + 300.0);
  for (int s : fillers) ::close(s);
}
