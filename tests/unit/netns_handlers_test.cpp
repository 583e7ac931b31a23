// httpGet, tcpSocket and grpc with target.netns: the socket is created inside that network namespace,
// so 127.0.0.1 is the namespace's loopback. The namespace is a private one made by the test (no
// runc: a thread unshares CLONE_NEWNET and brings lo up); servers listen on 127.0.0.1 inside it
// and, on the same port, in the host's namespace with a different answer — which one answers
// proves where the handler's socket was. Needs root (unshare of a network namespace).
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>

#include <cstring>
#include <functional>

#include "api_support.hpp"
#include "servers/grpc_health_server.hpp"

using namespace lifehook_test;

namespace {

#define SKIP_UNLESS_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create a network namespace; CI runs as root"

// A network namespace of the test's own, with loopback up. Reachable as /proc/<pid>/fd/<n> (a
// descriptor of its namespace file), so no thread has to stay inside it and nothing is mounted.
class PrivateNetns {
 public:
  PrivateNetns() {
    std::thread([this] {
      if (::unshare(CLONE_NEWNET) != 0) return error_ = std::string("unshare: ") + std::strerror(errno), void();
      int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      ifreq ifr{};
      std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
      bool up = s >= 0 && ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0 &&
                (ifr.ifr_flags |= IFF_UP, ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0);
      if (s >= 0) ::close(s);
      if (!up) return error_ = "bringing lo up failed", void();
      fd_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) error_ = std::string("open ns/net: ") + std::strerror(errno);
    }).join();
  }
  ~PrivateNetns() {
    if (fd_ >= 0) ::close(fd_);
  }
  const std::string& error() const { return error_; }
  std::string path() const { return "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(fd_); }

  // Runs f on a thread inside the namespace: the sockets it creates belong to the namespace.
  void inside(const std::function<void()>& f) const {
    std::thread([&] {
      ASSERT_EQ(::setns(fd_, CLONE_NEWNET), 0) << std::strerror(errno);
      f();
    }).join();
  }

 private:
  int fd_ = -1;
  std::string error_;
};

// An HTTP server on 127.0.0.1:<port> (0: any) of the namespace of the thread that creates it,
// answering every GET with 200 and `body`, one connection at a time.
class BodyServer {
 public:
  BodyServer(int port, std::string body) : body_(std::move(body)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) return;
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~BodyServer() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  int served() const { return served_; }

 private:
  void serve() {
    for (;;) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      std::string head;
      char buf[1024];
      pollfd p{c, POLLIN, 0};
      while (head.find("\r\n\r\n") == std::string::npos && ::poll(&p, 1, 2000) == 1) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body_.size()) +
                          "\r\nConnection: close\r\n\r\n" + body_;
      (void)!::write(c, reply.data(), reply.size());
      ::close(c);
      ++served_;
    }
  }

  std::string body_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> served_{0};
  std::thread thread_;
};

std::string http_request(int port, const std::string& netns) {
  json r = {{"handler", {{"httpGet", {{"host", "127.0.0.1"}, {"port", port}, {"path", "/"}}}}}, {"timeoutMs", 5000}};
  if (!netns.empty()) r["target"] = {{"netns", netns}};
  return r.dump();
}

std::string tcp_request(int port, const std::string& netns) {
  json r = {{"handler", {{"tcpSocket", {{"host", "127.0.0.1"}, {"port", port}}}}}, {"timeoutMs", 5000}};
  if (!netns.empty()) r["target"] = {{"netns", netns}};
  return r.dump();
}

}  // namespace

TEST(NetnsHandlers, HttpGetReachesTheServerInsideTheNamespaceNotTheHostOne) {
  SKIP_UNLESS_ROOT();
  PrivateNetns ns;
  ASSERT_EQ(ns.error(), "");
  // The same port on both sides, different bodies. Retry if the host happens to use that port.
  std::unique_ptr<BodyServer> inner, host;
  for (int attempt = 0; attempt < 10 && !(host && host->ok()); ++attempt) {
    ns.inside([&] { inner = std::make_unique<BodyServer>(0, "inside the pod"); });
    ASSERT_TRUE(inner->ok());
    host = std::make_unique<BodyServer>(inner->port(), "on the host");
  }
  ASSERT_TRUE(host && host->ok());
  int fds_before = count_fds();
  {
    Ctx ctx;
    json in = ctx.run(http_request(inner->port(), ns.path()));
    EXPECT_EQ(in["outcome"], "success") << in.dump();
    EXPECT_EQ(in["httpStatus"], 200);
    EXPECT_EQ(in["output"], "inside the pod");

    json out = ctx.run(http_request(inner->port(), ""));
    EXPECT_EQ(out["outcome"], "success") << out.dump();
    EXPECT_EQ(out["output"], "on the host");

    // Alternating requests never reuse a connection across namespaces.
    EXPECT_EQ(ctx.run(http_request(inner->port(), ns.path()))["output"], "inside the pod");
  }
  EXPECT_EQ(inner->served(), 2);
  EXPECT_EQ(host->served(), 1);
  EXPECT_TRUE(eventually([&] { return count_fds() == fds_before; })) << count_fds() << " vs " << fds_before;
}

TEST(NetnsHandlers, HttpGetToAPortClosedInsideTheNamespaceFails) {
  SKIP_UNLESS_ROOT();
  PrivateNetns ns;
  ASSERT_EQ(ns.error(), "");
  BodyServer host(0, "on the host");  // listens on the host only
  ASSERT_TRUE(host.ok());
  Ctx ctx;
  json r = ctx.run(http_request(host.port(), ns.path()));
  EXPECT_EQ(r["outcome"], "failure") << r.dump();
  EXPECT_NE(r["message"].get<std::string>().find("127.0.0.1"), std::string::npos) << r.dump();
  EXPECT_EQ(host.served(), 0);
}

TEST(NetnsHandlers, TcpSocketConnectsInsideTheNamespaceOnly) {
  SKIP_UNLESS_ROOT();
  PrivateNetns ns;
  ASSERT_EQ(ns.error(), "");
  std::unique_ptr<BodyServer> inner;
  ns.inside([&] { inner = std::make_unique<BodyServer>(0, "x"); });
  ASSERT_TRUE(inner->ok());
  Listener host;  // listening on the host's 127.0.0.1, not inside the namespace
  int fds_before = count_fds();
  int threads_before = count_threads();
  {
    Ctx ctx;
    json in = ctx.run(tcp_request(inner->port(), ns.path()));
    EXPECT_EQ(in["outcome"], "success") << in.dump();

    json closed = ctx.run(tcp_request(host.port(), ns.path()));
    EXPECT_EQ(closed["outcome"], "failure") << closed.dump();
    EXPECT_NE(closed["message"].get<std::string>().find("refused"), std::string::npos) << closed.dump();

    json on_host = ctx.run(tcp_request(host.port(), ""));
    EXPECT_EQ(on_host["outcome"], "success") << on_host.dump();
  }
  EXPECT_TRUE(eventually([&] { return count_fds() == fds_before && count_threads() == threads_before; }))
      << count_fds() << " fds vs " << fds_before << ", " << count_threads() << " threads vs " << threads_before;
}

TEST(NetnsHandlers, ANamespaceThatCannotBeEnteredIsAnErrorNamingTheField) {
  SKIP_UNLESS_ROOT();
  Listener host;
  int fds_before = count_fds();
  {
    Ctx ctx;
    const std::string missing = "/proc/4194305/ns/net";  // above the kernel's pid limit: never exists
    for (const std::string& request : {http_request(host.port(), missing), tcp_request(host.port(), missing)}) {
      json r = ctx.run(request);
      EXPECT_EQ(r["outcome"], "error") << r.dump();
      std::string msg = r["message"];
      EXPECT_NE(msg.find("target.netns: cannot enter " + missing + ": No such file or directory"), std::string::npos)
          << msg;
    }
    // A file that exists but is not a network namespace: setns refuses it.
    const std::string not_net = "/proc/self/ns/uts";
    for (const std::string& request : {http_request(host.port(), not_net), tcp_request(host.port(), not_net)}) {
      json r = ctx.run(request);
      EXPECT_EQ(r["outcome"], "error") << r.dump();
      std::string msg = r["message"];
      EXPECT_NE(msg.find("target.netns: cannot enter " + not_net + ": Invalid argument"), std::string::npos) << msg;
    }
  }
  EXPECT_TRUE(eventually([&] { return count_fds() == fds_before; })) << count_fds() << " vs " << fds_before;
}

TEST(NetnsHandlers, GrpcChecksTheServerInsideTheNamespace) {
  SKIP_UNLESS_ROOT();
  PrivateNetns ns;
  ASSERT_EQ(ns.error(), "");
  std::unique_ptr<lifehook::test::GrpcHealthServer> inner;  // spawned from inside: the child lives there
  ns.inside([&] { inner = std::make_unique<lifehook::test::GrpcHealthServer>(); });
  ASSERT_EQ(inner->error(), "");
  auto grpc = [&](const std::string& netns) {
    json r = {{"handler", {{"grpc", {{"host", "127.0.0.1"}, {"port", inner->port()}}}}}, {"timeoutMs", 5000}};
    if (!netns.empty()) r["target"] = {{"netns", netns}};
    return r.dump();
  };
  Ctx ctx;
  json in = ctx.run(grpc(ns.path()));
  EXPECT_EQ(in["outcome"], "success") << in.dump();
  EXPECT_EQ(in["message"], "service healthy");
  // From the host's namespace nothing serves gRPC health there (the port is closed, or another
  // program of the host's uses it).
  json out = ctx.run(grpc(""));
  EXPECT_NE(out["outcome"], "success") << out.dump();
  json missing = ctx.run(grpc("/proc/4194305/ns/net"));
  EXPECT_EQ(missing["outcome"], "error") << missing.dump();
  EXPECT_NE(missing["message"].get<std::string>().find("target.netns: cannot enter /proc/4194305/ns/net"),
            std::string::npos)
      << missing.dump();
}

TEST(NetnsHandlers, NetnsMustBeANonEmptyAbsolutePath) {
  Ctx ctx;
  for (const char* bad : {R"("proc/1/ns/net")", R"("")", "42"}) {
    std::string request =
        R"({"handler":{"tcpSocket":{"host":"127.0.0.1","port":1}},"target":{"netns":)" + std::string(bad) + "}}";
    char* result = nullptr;
    char* error = nullptr;
    EXPECT_EQ(lifehook_run(ctx.get(), request.c_str(), &result, &error), LIFEHOOK_E_INVALID) << bad;
    lifehook_free(result);
    std::string msg = take(error);
    EXPECT_EQ(msg.rfind("target.netns: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(std::string("(got ") + bad + ")"), std::string::npos) << msg;
  }
}
