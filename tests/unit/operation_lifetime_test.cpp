// Operation lifetime under load: every callback that can outlive a timeout or a cancel (curl's
// removal, a run finishing late) must never reach a freed Operation, and mass cancel or
// lifehook_ctx_free with hundreds of transfers in flight must neither corrupt memory nor fall back
// on the operation's "did not stop" safety net. Real servers on 127.0.0.1: one that accepts
// slowly into a tiny backlog and never answers, one that accepts everything and stays silent.
// Run under ASan+UBSan these are the regression tests of the use-after-free in Operation::finish.
#include <poll.h>

#include <map>
#include <mutex>
#include <vector>

#include "api_support.hpp"

using namespace lifehook_test;

namespace {

// Accepts at most one connection per `every` into a listener of backlog `backlog`, holds every
// accepted connection open and never reads or writes.
class HoldingServer {
 public:
  HoldingServer(int backlog, std::chrono::milliseconds every)
      : listener_(backlog), thread_([this, every] {
          std::vector<int> held;
          while (!stop_) {
            pollfd p{listener_.fd(), POLLIN, 0};
            if (::poll(&p, 1, 10) == 1) {
              int c = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
              if (c >= 0) {
                held.push_back(c);
                ++accepted_;
              }
              if (every.count() > 0) std::this_thread::sleep_for(every);
            }
          }
          for (int c : held) ::close(c);
        }) {}
  ~HoldingServer() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return listener_.port(); }
  int accepted() const { return accepted_; }

 private:
  Listener listener_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

struct Results {
  std::mutex mu;
  std::map<uint64_t, int> calls;
  std::map<std::string, int> outcomes;
  std::vector<std::string> messages;
  std::atomic<int> total{0};
  static void fn(void* user, uint64_t op, const char* result_json) {
    auto* self = static_cast<Results*>(user);
    json r = json::parse(result_json);
    std::lock_guard<std::mutex> lock(self->mu);
    ++self->calls[op];
    ++self->outcomes[r.at("outcome").get<std::string>()];
    self->messages.push_back(r.value("message", ""));
    ++self->total;
  }
  int count(const std::string& outcome) {
    std::lock_guard<std::mutex> lock(mu);
    return outcomes[outcome];
  }
  // No result came from the operation's safety net: every run stopped by itself.
  int from_safety_net() {
    std::lock_guard<std::mutex> lock(mu);
    int n = 0;
    for (const auto& m : messages) n += m.find("did not stop") != std::string::npos;
    return n;
  }
};

std::string http_get(int port, int timeout_ms) {
  return R"({"handler":{"httpGet":{"host":"127.0.0.1","port":)" + std::to_string(port) +
         R"(,"path":"/"}},"timeoutMs":)" + std::to_string(timeout_ms) + "}";
}

std::vector<uint64_t> submit_all(lifehook_ctx* ctx, const std::string& req, int n, Results& results) {
  std::vector<uint64_t> ops;
  for (int i = 0; i < n; ++i) {
    uint64_t op = 0;
    char* error = nullptr;
    int rc = lifehook_submit(ctx, req.c_str(), &Results::fn, &results, &op, &error);
    EXPECT_EQ(rc, LIFEHOOK_OK) << take(error);
    if (rc == LIFEHOOK_OK) ops.push_back(op);
  }
  return ops;
}

void expect_each_once(Results& results, const std::vector<uint64_t>& ops) {
  std::lock_guard<std::mutex> lock(results.mu);
  EXPECT_EQ(results.total.load(), static_cast<int>(ops.size()));
  for (uint64_t op : ops) ASSERT_EQ(results.calls[op], 1) << "op " << op;
}

}  // namespace

// 200 httpGet with a 1 s timeout against a server that accepts one connection per 100 ms into
// a backlog of 1 and never answers: every one times out by itself (no result through the 10 s
// "did not stop" net), and nothing touches an operation after its result.
TEST(OperationLifetime, TimeoutsAgainstASlowAcceptingTinyBacklogServer) {
  Results results;
  int fds_before = count_fds();
  {
    HoldingServer server(1, std::chrono::milliseconds(100));
    Ctx ctx;
    auto ops = submit_all(ctx.get(), http_get(server.port(), 1000), 200, results);
    ASSERT_TRUE(eventually([&] { return results.total.load() >= 200; }, std::chrono::seconds(60)));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // late callbacks would land now
    expect_each_once(results, ops);
    EXPECT_EQ(results.count("timeout"), 200);
    EXPECT_EQ(results.from_safety_net(), 0);
  }
  EXPECT_TRUE(eventually([&] { return count_fds() <= fds_before; })) << count_fds() << " > " << fds_before;
}

// 300 httpGet in flight against a silent server, then lifehook_ctx_free: each completes once
// as canceled, with no memory corruption and nothing left open.
TEST(OperationLifetime, CtxFreeWithThreeHundredSilentTransfers) {
  Results results;
  int fds_before = count_fds();
  std::vector<uint64_t> ops;
  {
    HoldingServer server(4096, std::chrono::milliseconds(0));  // holds what it accepted until here
    Ctx ctx;
    ops = submit_all(ctx.get(), http_get(server.port(), 60000), 300, results);
    eventually([&] { return server.accepted() >= 300; }, std::chrono::seconds(20));
    ctx.reset();
    // lifehook_ctx_free returns after every done callback ran.
    expect_each_once(results, ops);
  }
  EXPECT_EQ(results.count("canceled"), 300);
  EXPECT_EQ(results.from_safety_net(), 0);
  EXPECT_TRUE(eventually([&] { return count_fds() <= fds_before; })) << count_fds() << " > " << fds_before;
}

// The same with lifehook_cancel of each operation from one host thread, then more submits on the
// same context: it keeps working.
TEST(OperationLifetime, CancelEachOfThreeHundredSilentTransfers) {
  HoldingServer server(4096, std::chrono::milliseconds(0));
  Results results;
  Ctx ctx;
  auto ops = submit_all(ctx.get(), http_get(server.port(), 60000), 300, results);
  eventually([&] { return server.accepted() >= 150; }, std::chrono::seconds(20));
  int refused = 0;
  for (uint64_t op : ops) refused += lifehook_cancel(ctx.get(), op) != LIFEHOOK_OK;
  ASSERT_TRUE(eventually([&] { return results.total.load() >= 300; }, std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  expect_each_once(results, ops);
  EXPECT_EQ(results.count("canceled") + refused, 300);
  EXPECT_EQ(results.from_safety_net(), 0);
  json r = ctx.run(R"({"handler":{"sleep":{"seconds":0}}})");
  EXPECT_EQ(r.value("outcome", ""), "success");
}
