// The injectable clock: FakeClock runs due timers in time order from advance(), a canceled or
// re-armed timer never fires its earlier callback, and RealClock's timers fire on their strand.
#include "plugin/common/clock.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <future>
#include <thread>
#include <vector>

namespace lifehook {
namespace {

using namespace std::chrono_literals;

TEST(FakeClock, RunsDueTimersInOrderAtTheirDueTime) {
  boost::asio::io_context io;
  FakeClock clock;
  auto t0 = clock.now();
  std::vector<std::pair<int, Clock::TimePoint>> fired;
  auto a = clock.make_timer(boost::asio::make_strand(io));
  auto b = clock.make_timer(boost::asio::make_strand(io));
  auto c = clock.make_timer(boost::asio::make_strand(io));
  a->arm(t0 + 300ms, [&] { fired.push_back({1, clock.now()}); });
  b->arm(t0 + 100ms, [&] { fired.push_back({2, clock.now()}); });
  c->arm(t0 + 200ms, [&] { fired.push_back({3, clock.now()}); });
  EXPECT_EQ(clock.pending(), 3u);
  EXPECT_EQ(clock.next_due(), t0 + 100ms);
  clock.advance(99ms);
  EXPECT_TRUE(fired.empty());
  clock.advance(151ms);  // t0 + 250
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0], std::make_pair(2, t0 + 100ms));
  EXPECT_EQ(fired[1], std::make_pair(3, t0 + 200ms));
  EXPECT_EQ(clock.now(), t0 + 250ms);
  clock.advance(1h);
  ASSERT_EQ(fired.size(), 3u);
  EXPECT_EQ(fired[2], std::make_pair(1, t0 + 300ms));
  EXPECT_EQ(clock.pending(), 0u);
}

TEST(FakeClock, CancelRearmAndDestroyDropTheEarlierCallback) {
  boost::asio::io_context io;
  FakeClock clock;
  auto t0 = clock.now();
  int first = 0, second = 0, gone = 0;
  auto a = clock.make_timer(boost::asio::make_strand(io));
  a->arm(t0 + 10ms, [&] { ++first; });
  a->arm(t0 + 20ms, [&] { ++second; });  // replaces the first arming
  auto b = clock.make_timer(boost::asio::make_strand(io));
  b->arm(t0 + 5ms, [&] { ++gone; });
  b->cancel();
  auto c = clock.make_timer(boost::asio::make_strand(io));
  c->arm(t0 + 5ms, [&] { ++gone; });
  c.reset();
  clock.advance(1s);
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
  EXPECT_EQ(gone, 0);
}

TEST(FakeClock, CallbacksMayArmAgainAndRunAllStopsAtTheLimit) {
  boost::asio::io_context io;
  FakeClock clock;
  auto t0 = clock.now();
  auto t = clock.make_timer(boost::asio::make_strand(io));
  int ticks = 0;
  std::function<void()> tick = [&] {
    ++ticks;
    t->arm(clock.now() + 10s, tick);  // a periodic worker, as a probe's
  };
  t->arm(t0 + 10s, tick);
  clock.run_all(t0 + 60s);
  EXPECT_EQ(ticks, 6);
  EXPECT_EQ(clock.next_due(), t0 + 70s);
  // An arming in the past fires at the next run, without moving time.
  int late = 0;
  auto u = clock.make_timer(boost::asio::make_strand(io));
  auto now = clock.now();
  u->arm(now - 1s, [&] { ++late; });
  clock.run_due();
  EXPECT_EQ(late, 1);
  EXPECT_EQ(clock.now(), now);
}

TEST(Clock, SaturatingAddNeverWraps) {
  auto t = std::chrono::steady_clock::now();
  EXPECT_EQ(saturating_add(t, std::chrono::milliseconds(INT64_MAX)), Clock::TimePoint::max());
  EXPECT_EQ(saturating_add(t, 1500ms), t + 1500ms);
  EXPECT_EQ(saturating_add(t, 0ms), t);
}

TEST(RealClock, TimersFireOnTheirStrandAndCancelHolds) {
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });
  Clock& clock = real_clock();
  auto strand = boost::asio::make_strand(io);
  std::promise<bool> on_strand;
  int canceled_fired = 0;
  auto a = clock.make_timer(strand);
  auto b = clock.make_timer(strand);
  boost::asio::post(strand, [&] {
    b->arm(clock.now() + 5ms, [&] { ++canceled_fired; });
    b->cancel();
    a->arm(clock.now() + 20ms, [&] { on_strand.set_value(strand.running_in_this_thread()); });
  });
  auto fut = on_strand.get_future();
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(fut.get());
  std::promise<void> drained;
  boost::asio::post(strand, [&] {
    a.reset();
    b.reset();
    drained.set_value();
  });
  drained.get_future().wait();
  guard.reset();
  loop.join();
  EXPECT_EQ(canceled_fired, 0);
}

}  // namespace
}  // namespace lifehook
