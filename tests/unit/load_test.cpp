// Load: 1000 handlers in flight, submitted from 8 host threads onto a default (2-thread)
// context. Every done callback runs exactly once and the library starts no thread per operation.
#include <poll.h>

#include <map>
#include <mutex>
#include <vector>

#include "api_support.hpp"

using namespace lifehook_test;

namespace {

// Accepts and closes connections until stopped, so the listener's queue never fills.
class Acceptor {
 public:
  explicit Acceptor(const Listener& l)
      : thread_([this, fd = l.fd()] {
          while (!stop_) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 20) != 1) continue;
            int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c >= 0) {
              ::close(c);
              ++accepted_;
            }
          }
        }) {}
  ~Acceptor() {
    stop_ = true;
    thread_.join();
  }
  int accepted() const { return accepted_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

struct Tally {
  std::mutex mu;
  std::map<uint64_t, int> calls;
  std::map<std::string, int> outcomes;
  std::atomic<int> total{0};
  static void fn(void* user, uint64_t op, const char* result_json) {
    auto* self = static_cast<Tally*>(user);
    std::string outcome = json::parse(result_json).at("outcome").get<std::string>();
    std::lock_guard<std::mutex> lock(self->mu);
    ++self->calls[op];
    ++self->outcomes[outcome];
    ++self->total;
  }
};

}  // namespace

TEST(Load, ThousandHandlersFromEightThreadsOnTwoLoopThreads) {
  constexpr int kThreads = 8, kPerThread = 125, kTotal = kThreads * kPerThread;
  Listener listener(4096);
  Acceptor acceptor(listener);
  Ctx ctx;  // defaults: 2 event-loop threads
  ASSERT_EQ(count_threads_named("lifehook-loop"), 2);

  Tally tally;
  std::mutex ops_mu;
  std::vector<uint64_t> ops;
  std::atomic<int> submit_failures{0};
  std::string tcp = R"({"handler":{"tcpSocket":{"host":"127.0.0.1","port":)" + std::to_string(listener.port()) +
                    R"(}},"timeoutMs":20000})";
  std::string sleep = R"({"handler":{"sleep":{"seconds":0.2}},"timeoutMs":20000})";

  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> submitters;
  for (int t = 0; t < kThreads; ++t)
    submitters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        uint64_t op = 0;
        const std::string& req = (t + i) % 2 ? tcp : sleep;
        if (lifehook_submit(ctx.get(), req.c_str(), &Tally::fn, &tally, &op, nullptr) != LIFEHOOK_OK) {
          ++submit_failures;
          continue;
        }
        std::lock_guard<std::mutex> lock(ops_mu);
        ops.push_back(op);
      }
    });
  // While they are in flight: the library's threads stay at its 2 loop threads (+1 for Asio's
  // resolver, never needed for an address literal).
  int max_loop_threads = 0;
  while (tally.total.load() < kTotal && ms_since(t0) < 30000) {
    max_loop_threads = std::max(max_loop_threads, count_threads_named("lifehook-loop"));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& s : submitters) s.join();
  double all_done_ms = ms_since(t0);
  ASSERT_TRUE(eventually([&] { return tally.total.load() >= kTotal; }, std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a second call would show up now

  std::printf(
      "1000 handlers (500 sleep 200 ms, 500 tcpSocket) from 8 threads: all done in %.0f ms; "
      "max library threads %d; connections accepted %d\n",
      all_done_ms, max_loop_threads, acceptor.accepted());
  EXPECT_EQ(submit_failures.load(), 0);
  EXPECT_LE(max_loop_threads, 3);
  EXPECT_GE(max_loop_threads, 2);
  std::lock_guard<std::mutex> lock(tally.mu);
  EXPECT_EQ(tally.total.load(), kTotal);
  ASSERT_EQ(ops.size(), static_cast<size_t>(kTotal));
  for (uint64_t op : ops) ASSERT_EQ(tally.calls[op], 1) << "op " << op;
  EXPECT_EQ(tally.outcomes["success"], kTotal) << "other outcomes: " << tally.outcomes.size();
  // 500 sleeps of 200 ms on two threads finish together, not one after another.
  EXPECT_LT(all_done_ms, 15000.0);
}
