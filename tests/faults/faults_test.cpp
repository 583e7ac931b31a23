// The fault suite: the library inside a host process, against misbehaving servers, hostile
// processes and hostile host conditions. Every case runs under HostCheck (fault_support.hpp): no
// crash, no process, cgroup, descriptor or thread left, nothing on the host's stdout/stderr.
// All network peers are on 127.0.0.1 (127.0.0.2 as a redirect observer).
#include <dlfcn.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <map>
#include <set>

#include "fault_support.hpp"
#include "tests/unit/http_test_server.hpp"

using namespace faults;

namespace {

// The outcome of `r`, or "rc:<status>" when the library refused the request.
std::string outcome(const json& r) {
  if (r.contains("rc")) return "rc:" + std::to_string(r["rc"].get<int>());
  return r.value("outcome", "?");
}

bool send_all_file(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

class Network : public HostCheck {};
class Processes : public HostCheck {};
class Host : public HostCheck {};

}  // namespace

// ---- misbehaving HTTP and TCP servers --------------------------------------------------------

TEST_F(Network, SilentServerTimesOut) {
  FaultServer server([](int fd, const std::atomic<bool>& stop) { hold(fd, stop); });
  Ctx ctx;
  auto t0 = Clock::now();
  EXPECT_EQ(outcome(ctx.run(http_get(server.port(), 300))), "timeout");
  EXPECT_EQ(outcome(ctx.run(tcp_socket(server.port(), 300))), "success");  // a connect is all tcpSocket asks
  EXPECT_LT(ms_since(t0), 5000);
}

TEST_F(Network, SlowlorisHeadersTimeOut) {
  FaultServer server([](int fd, const std::atomic<bool>& stop) {
    read_head(fd, stop);
    std::string head = "HTTP/1.1 200 OK\r\nX-Slow: ";
    for (size_t i = 0; !stop && i < 100000; ++i) {
      if (!send_all(fd, std::string(1, i < head.size() ? head[i] : 'a'))) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  Ctx ctx;
  EXPECT_EQ(outcome(ctx.run(http_get(server.port(), 500))), "timeout");
}

TEST_F(Network, ResetConnectionsFail) {
  FaultServer server([](int fd, const std::atomic<bool>& stop) {
    read_head(fd, stop);
    linger l{1, 0};  // close() sends an RST
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  });
  Ctx ctx;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(outcome(ctx.run(http_get(server.port(), 2000))), "failure");
}

TEST_F(Network, EndlessBodyIsCutOff) {
  FaultServer server([](int fd, const std::atomic<bool>& stop) {
    read_head(fd, stop);
    if (!send_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")) return;
    std::string chunk(65536, 'z');
    while (!stop && send_all(fd, chunk)) {
    }
  });
  Ctx ctx;
  json r = ctx.run(http_get(server.port(), 5000));
  EXPECT_EQ(outcome(r), "success") << r.dump();
  EXPECT_TRUE(r.value("truncated", false)) << r.dump();
}

TEST_F(Network, HugeAndManyHeadersAreBounded) {
  for (bool many : {false, true}) {
    FaultServer server([many](int fd, const std::atomic<bool>& stop) {
      read_head(fd, stop);
      std::string head = "HTTP/1.1 200 OK\r\n";
      if (many)
        for (int i = 0; i < 20000; ++i) head += "X-" + std::to_string(i) + ": v\r\n";
      else
        head += "X-Big: " + std::string(4 << 20, 'h') + "\r\n";
      send_all(fd, head + "Content-Length: 2\r\n\r\nok");
      hold(fd, stop);
    });
    Ctx ctx;
    auto t0 = Clock::now();
    json r = ctx.run(http_get(server.port(), 5000));
    std::string o = outcome(r);
    EXPECT_TRUE(o == "success" || o == "failure") << r.dump().substr(0, 300);
    EXPECT_LT(ms_since(t0), 6000);
  }
}

TEST_F(Network, MalformedStatusLinesFail) {
  const char* heads[] = {"HTTP/1.1 abc OK\r\n\r\n",
                         "HTTP/1.1 2000000000000 OK\r\n\r\n",
                         "HTTP/9.9 200\r\n\r\n",
                         "garbage\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                         "\0\0\0\0\r\n\r\n",
                         "HTTP/1.1 302 Found\r\nLocation: \x01\x02://\r\n\r\n"};
  Ctx ctx;
  for (const char* head : heads) {
    std::string text(head, std::strlen(head) ? std::strlen(head) : 8);
    FaultServer server([text](int fd, const std::atomic<bool>& stop) {
      read_head(fd, stop);
      send_all(fd, text);
    });
    json r = ctx.run(http_get(server.port(), 2000));
    std::string o = outcome(r);
    EXPECT_TRUE(o == "failure" || o == "success") << text << ": " << r.dump();
  }
}

std::string https_get(int port, int timeout_ms) {
  return json{{"handler", {{"httpGet", {{"host", "127.0.0.1"}, {"port", port}, {"path", "/"}, {"scheme", "HTTPS"}}}}},
              {"timeoutMs", timeout_ms}}
      .dump();
}

// TLS peers that misbehave during the handshake: a stall is a timeout, garbage, a record that
// claims 64 KiB and closes, a bad_certificate alert and a plain-HTTP answer are failures (or the
// kubelet's HTTP fallback), each within its timeout.
TEST_F(Network, MisbehavingTlsHandshakesFailOrTimeOut) {
  Ctx ctx;
  {
    FaultServer stall([](int fd, const std::atomic<bool>& stop) { hold(fd, stop); });
    auto t0 = Clock::now();
    EXPECT_EQ(outcome(ctx.run(https_get(stall.port(), 400))), "timeout");
    EXPECT_LT(ms_since(t0), 5000);
  }
  const std::string answers[] = {
      std::string("\x16\x03\x03\xff\xff", 5) + std::string(100, '\x5a'),  // a record that never completes
      std::string("\x15\x03\x03\x00\x02\x02\x2a", 7),                     // alert: bad_certificate
      std::string(4096, '\x00'),                                          // zeros
      "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",            // a plain HTTP server
  };
  for (const std::string& answer : answers) {
    FaultServer server([answer](int fd, const std::atomic<bool>& stop) {
      char buf[4096];
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 2000) > 0) (void)::read(fd, buf, sizeof buf);  // the ClientHello
      send_all(fd, answer);
      (void)stop;
    });
    auto t0 = Clock::now();
    json r = ctx.run(https_get(server.port(), 2000));
    std::string o = outcome(r);
    EXPECT_TRUE(o == "failure" || o == "success") << r.dump();
    EXPECT_LT(ms_since(t0), 5000) << r.dump();
  }
}

// A certificate that verifies nowhere (self-signed, issued to another name) is accepted, as the
// kubelet's prober and hooks do (InsecureSkipVerify): https checks liveness, not identity.
TEST_F(Network, BadCertificatesAreNotVerifiedAsTheKubeletDoes) {
  lifehook::test::TestHttpsServer server;
  if (!server.available()) GTEST_FAIL() << server.why();
  Ctx ctx;
  for (int i = 0; i < 3; ++i) {
    json r = ctx.run(https_get(server.port(), 5000));
    EXPECT_EQ(outcome(r), "success") << r.dump();
  }
}

TEST_F(Network, RedirectToAnotherLoopbackAddressIsNotFollowed) {
  std::atomic<int> observed{0};
  FaultServer observer(
      [&](int fd, const std::atomic<bool>& stop) {
        ++observed;
        read_head(fd, stop);
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
      },
      128, true, "127.0.0.2");
  std::string target = "http://127.0.0.2:" + std::to_string(observer.port()) + "/stolen";
  FaultServer server([&](int fd, const std::atomic<bool>& stop) {
    read_head(fd, stop);
    send_all(fd, "HTTP/1.1 302 Found\r\nLocation: " + target + "\r\nContent-Length: 0\r\n\r\n");
  });
  Ctx ctx;
  json r = ctx.run(http_get(server.port(), 2000));
  EXPECT_EQ(outcome(r), "success") << r.dump();
  EXPECT_EQ(observed.load(), 0) << "the redirect to 127.0.0.2 was followed";
}

TEST_F(Network, FullAcceptBacklogTimesOut) {
  FaultServer server([](int, const std::atomic<bool>&) {}, 0, /*accepting=*/false);
  // Fill the queue first, so our connects wait in SYN_SENT.
  std::vector<int> fillers;
  for (int i = 0; i < 8; ++i) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(server.port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(s);
  }
  Ctx ctx;
  auto t0 = Clock::now();
  std::string h = outcome(ctx.run(http_get(server.port(), 400)));
  std::string t = outcome(ctx.run(tcp_socket(server.port(), 400)));
  EXPECT_TRUE(h == "timeout" || h == "failure") << h;
  EXPECT_TRUE(t == "timeout" || t == "failure" || t == "success") << t;
  EXPECT_LT(ms_since(t0), 4000);
  for (int s : fillers) ::close(s);
}

// 200 probes against a server that accepts one connection per 20 ms: every result arrives by its
// own timeout, none through the operation's "did not stop" net.
TEST_F(Network, OverloadedAcceptDeliversEveryTimeout) {
  FaultServer server(
      [](int fd, const std::atomic<bool>& stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        hold(fd, stop);
      },
      1);
  Ctx ctx;
  struct Box {
    std::mutex mu;
    std::map<std::string, int> outcomes;
    std::atomic<int> n{0};
    int net = 0;
  } box;
  auto done = [](void* u, uint64_t, const char* result) {
    auto* b = static_cast<Box*>(u);
    json r = json::parse(result);
    std::lock_guard<std::mutex> lock(b->mu);
    b->outcomes[r.value("outcome", "?")]++;
    b->net += r.value("message", "").find("did not stop") != std::string::npos;
    b->n++;
  };
  for (int i = 0; i < 200; ++i) {
    std::string req = i % 2 ? http_get(server.port(), 1000) : tcp_socket(server.port(), 1000);
    ASSERT_EQ(lifehook_submit(ctx.get(), req.c_str(), done, &box, nullptr, nullptr), LIFEHOOK_OK);
    Tally::get().operations++;
  }
  ASSERT_TRUE(eventually([&] { return box.n.load() == 200; }, std::chrono::seconds(30)));
  EXPECT_EQ(box.net, 0);
}

// ---- hostile processes ----------------------------------------------------------------------

TEST_F(Processes, SetsidEscapersDieAtTheTimeout) {
  Tally::get().faults++;
  Ctx ctx;
  json r = ctx.run(exec("setsid sleep 60 & setsid sh -c 'sleep 60 & sleep 60' & sleep 60", 300));
  EXPECT_EQ(outcome(r), "timeout") << r.dump();
}

TEST_F(Processes, OutputHoldersDoNotKeepTheResult) {
  Tally::get().faults++;
  Ctx ctx;
  auto t0 = Clock::now();
  json r = ctx.run(exec("(sleep 30; echo late) & echo early; exit 0", 10000));
  EXPECT_EQ(outcome(r), "success") << r.dump();
  EXPECT_LT(ms_since(t0), 8000);
}

TEST_F(Processes, OneGibibyteOfOutputIsCapped) {
  Tally::get().faults++;
  Ctx ctx;
  json r = ctx.run(exec("yes | head -c 1073741824; yes | head -c 1048576 >&2", 60000));
  EXPECT_EQ(outcome(r), "success") << r.dump().substr(0, 200);
  EXPECT_LE(r.value("output", std::string()).size(), 64u * 1024) << "output not capped";
}

TEST_F(Processes, TermIgnoringProcessesAreKilled) {
  Tally::get().faults++;
  Ctx ctx;
  auto t0 = Clock::now();
  json r = ctx.run(exec("trap '' TERM; (trap '' TERM; sleep 60) & sleep 60", 300));
  EXPECT_EQ(outcome(r), "timeout") << r.dump();
  EXPECT_LT(ms_since(t0), 5000);
}

TEST_F(Processes, BoundedForkBurstIsKilledWhole) {
  Tally::get().faults++;
  Ctx ctx;
  json r = ctx.run(exec("for i in $(seq 200); do sleep 60 & done; wait", 1000));
  EXPECT_EQ(outcome(r), "timeout") << r.dump();
}

// ---- hostile hosts ----------------------------------------------------------------------------

TEST_F(Host, SigchldIgnored) {
  Tally::get().faults++;
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGCHLD, &ign, &old);
  {
    Ctx ctx;
    for (int code : {0, 3}) {
      json r = ctx.run(exec("exit " + std::to_string(code), 5000));
      // Linux 6.15+: the exact code from the pidfd; before: an error saying it is unknown.
      EXPECT_TRUE(r.value("exitCode", -1) == code || outcome(r) == "error") << r.dump();
    }
  }
  ::sigaction(SIGCHLD, &old, nullptr);
}

// A host that reaps every child: docs/DESIGN.md says it sees SIGCHLD for our exec'd processes and
// may reap them; results stay exact where the kernel keeps the status in the pidfd.
TEST_F(Host, ThreadLoopingWaitpidAny) {
  Tally::get().faults++;
  std::atomic<bool> stop{false};
  std::atomic<int> reaped{0};
  std::thread reaper([&] {
    while (!stop) {
      if (::waitpid(-1, nullptr, WNOHANG) > 0) ++reaped;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  });
  {
    Ctx ctx;
    for (int code : {0, 1, 7}) {
      json r = ctx.run(exec("sleep 0.02; exit " + std::to_string(code), 5000));
      EXPECT_TRUE(r.value("exitCode", -1) == code || outcome(r) == "error") << r.dump();
    }
  }
  stop = true;
  reaper.join();
}

// Every descriptor allocation can fail: with RLIMIT_NOFILE just above what is open, each handler
// kind either works or reports an error; nothing crashes, hangs or leaks.
TEST_F(Host, DescriptorLimitExhaustedAtEveryStep) {
  FaultServer server([](int fd, const std::atomic<bool>& stop) {
    read_head(fd, stop);
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  });
  rlimit old{};
  ::getrlimit(RLIMIT_NOFILE, &old);
  int open_now = count_fds();
  for (int extra = 0; extra <= 24; ++extra) {
    Tally::get().faults++;
    rlimit low = old;
    low.rlim_cur = static_cast<rlim_t>(open_now + extra);
    // The fd numbers in use may be sparse: the limit is on the highest number, so leave room.
    ::setrlimit(RLIMIT_NOFILE, &low);
    lifehook_ctx* ctx = nullptr;
    char* error = nullptr;
    if (lifehook_ctx_new(R"({"threads":1})", &ctx, &error) != LIFEHOOK_OK) {
      take(error);
      ::setrlimit(RLIMIT_NOFILE, &old);
      continue;
    }
    for (const std::string& req : {http_get(server.port(), 2000), tcp_socket(server.port(), 2000), exec("exit 0", 2000),
                                   std::string(R"({"handler":{"sleep":{"seconds":0}}})")}) {
      char* result = nullptr;
      Tally::get().operations++;
      int rc = lifehook_run(ctx, req.c_str(), &result, &error);
      take(result);
      take(error);
      EXPECT_TRUE(rc == LIFEHOOK_OK || rc == LIFEHOOK_E_SYSTEM) << rc;
    }
    lifehook_ctx_free(ctx);
    ::setrlimit(RLIMIT_NOFILE, &old);
  }
}

// Mass cancel and lifehook_ctx_free while 8 host threads submit every handler kind.
TEST_F(Host, CtxFreeRacingEightSubmittingThreads) {
  FaultServer silent([](int fd, const std::atomic<bool>& stop) { hold(fd, stop); }, 4096);
  for (int round = 0; round < 3; ++round) {
    Tally::get().faults++;
    lifehook_ctx* ctx = nullptr;
    ASSERT_EQ(lifehook_ctx_new(nullptr, &ctx, nullptr), LIFEHOOK_OK);
    std::atomic<int> submitted{0}, delivered{0};
    std::atomic<bool> freeing{false};
    std::string reqs[] = {http_get(silent.port(), 30000), tcp_socket(silent.port(), 30000), exec("sleep 30", 30000),
                          R"({"handler":{"sleep":{"seconds":30}}})"};
    auto done = [](void* u, uint64_t, const char*) { static_cast<std::atomic<int>*>(u)->fetch_add(1); };
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 40 && !freeing; ++i) {
          uint64_t op = 0;
          if (lifehook_submit(ctx, reqs[(t + i) % 4].c_str(), done, &delivered, &op, nullptr) != LIFEHOOK_OK) break;
          ++submitted;
          if (i % 3 == 0) lifehook_cancel(ctx, op);
        }
      });
    eventually([&] { return submitted.load() >= 100; }, std::chrono::seconds(5));
    freeing = true;
    for (auto& t : threads) t.join();
    lifehook_ctx_free(ctx);
    Tally::get().operations += submitted.load();
    EXPECT_EQ(delivered.load(), submitted.load());
  }
}

// A host that loads and unloads the library over and over, using it each time.
TEST_F(Host, DlopenDlcloseThousandTimes) {
  Tally::get().faults++;
  Dl_info info{};
  ASSERT_NE(::dladdr(reinterpret_cast<void*>(&lifehook_ctx_new), &info), 0);
  // A copy, so that each dlopen really loads (and each dlclose really unloads) a library apart
  // from the one this program links.
  char tmpl[] = "/tmp/lifehook-dlopen-XXXXXX";
  int out = ::mkostemp(tmpl, O_CLOEXEC);
  ASSERT_GE(out, 0);
  {
    std::ifstream in(info.dli_fname, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_TRUE(send_all_file(out, bytes));
  }
  ::close(out);
  std::string path = tmpl;
#if defined(__SANITIZE_ADDRESS__)
  const int cycles = 50;  // each dlopen under ASan costs ~0.2 s: the release build runs the thousand
#else
  const int cycles = 1000;
#endif
  for (int i = 0; i < cycles; ++i) {
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(h, nullptr) << ::dlerror();
    auto ctx_new = reinterpret_cast<int (*)(const char*, lifehook_ctx**, char**)>(::dlsym(h, "lifehook_ctx_new"));
    auto ctx_free = reinterpret_cast<void (*)(lifehook_ctx*)>(::dlsym(h, "lifehook_ctx_free"));
    auto run = reinterpret_cast<int (*)(lifehook_ctx*, const char*, char**, char**)>(::dlsym(h, "lifehook_run"));
    auto free_fn = reinterpret_cast<void (*)(void*)>(::dlsym(h, "lifehook_free"));
    // Every 10th time a context too, with one handler run (a context costs its threads and curl).
    if (i % 10 == 0) {
      lifehook_ctx* ctx = nullptr;
      ASSERT_EQ(ctx_new(R"({"threads":1})", &ctx, nullptr), LIFEHOOK_OK);
      char* result = nullptr;
      EXPECT_EQ(run(ctx, R"({"handler":{"sleep":{"seconds":0}}})", &result, nullptr), LIFEHOOK_OK);
      free_fn(result);
      Tally::get().operations++;
      ctx_free(ctx);
    }
    ASSERT_EQ(::dlclose(h), 0);
  }
  ::unlink(path.c_str());
}

// The totals for docs/RELIABILITY.md (printed once, after every case, on the real stdout).
class TallyPrinter : public ::testing::Environment {
 public:
  void TearDown() override {
    std::printf("[ faults   ] %d cases, %d faults injected, %d operations under fault\n", Tally::get().cases.load(),
                Tally::get().faults.load(), Tally::get().operations.load());
  }
};
static ::testing::Environment* const kTally = ::testing::AddGlobalTestEnvironment(new TallyPrinter);
