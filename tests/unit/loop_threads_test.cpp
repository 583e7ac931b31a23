// What a second loop thread is for, now that the event loop runs with concurrency hint 1
// (plugin/context/context.cpp): a loop thread's own continuations stay on it, but work posted from
// outside the loop (lifehook_submit, lifehook_run) is taken by an idle thread while another is busy.
// A host callback should not block; when one does, the other thread still serves the host.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "lifehook/lifehook.h"

namespace {

struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  bool entered = false;
  bool timed_out = false;
};

// The first operation's done callback holds its loop thread until the gate opens (at most 10 s).
void blocking_done(void* user, uint64_t, const char*) {
  auto* g = static_cast<Gate*>(user);
  std::unique_lock<std::mutex> lock(g->mu);
  g->entered = true;
  g->cv.notify_all();
  g->timed_out = !g->cv.wait_for(lock, std::chrono::seconds(10), [g] { return g->open; });
}

}  // namespace

TEST(LoopThreads, AnotherThreadServesTheHostWhileOneIsHeldByACallback) {
  lifehook_ctx* ctx = nullptr;
  ASSERT_EQ(lifehook_ctx_new(R"({"threads": 2})", &ctx, nullptr), LIFEHOOK_OK);
  Gate gate;
  ASSERT_EQ(lifehook_submit(ctx, R"({"handler":{"sleep":{"seconds":0}}})", &blocking_done, &gate, nullptr, nullptr),
            LIFEHOOK_OK);
  {
    std::unique_lock<std::mutex> lock(gate.mu);
    ASSERT_TRUE(gate.cv.wait_for(lock, std::chrono::seconds(10), [&] { return gate.entered; }));
  }
  // One loop thread is held. A run from the host still completes: a timer (the sleep), a socket
  // (a tcpSocket to a closed port) and a process (exec) all need the reactor, which the other
  // thread must run.
  for (const char* req : {R"({"handler":{"sleep":{"seconds":0.01}}})",
                          R"({"handler":{"tcpSocket":{"host":"127.0.0.1","port":1}},"timeoutMs":2000})",
                          R"({"handler":{"exec":{"command":["/bin/true"]}},"timeoutMs":5000})"}) {
    char* result = nullptr;
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(lifehook_run(ctx, req, &result, nullptr), LIFEHOOK_OK) << req;
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::string r = result;
    lifehook_free(result);
    EXPECT_EQ(r.find("\"timeout\""), std::string::npos) << req << " -> " << r;
    EXPECT_LT(ms, 2000) << req << " -> " << r;
  }
  {
    std::lock_guard<std::mutex> lock(gate.mu);
    gate.open = true;
  }
  gate.cv.notify_all();
  lifehook_ctx_free(ctx);
  EXPECT_FALSE(gate.timed_out) << "the held callback was never released";
}
