// The sleep handler: success after the time, 0 is immediate, cancel gives "canceled".
#include "api_support.hpp"

using namespace lifehook_test;

TEST(Sleep, ZeroSucceedsAtOnce) {
  Ctx ctx;
  auto t0 = std::chrono::steady_clock::now();
  json r = ctx.run(R"({"handler":{"sleep":{"seconds":0}}})");
  EXPECT_EQ(r.at("outcome"), "success");
  EXPECT_LT(ms_since(t0), 1000.0);
  EXPECT_TRUE(r.at("warnings").empty());
}

TEST(Sleep, SleepsForFractionalSeconds) {
  Ctx ctx;
  auto t0 = std::chrono::steady_clock::now();
  json r = ctx.run(R"({"handler":{"sleep":{"seconds":0.15}},"timeoutMs":5000})");
  double wall = ms_since(t0);
  EXPECT_EQ(r.at("outcome"), "success") << r.dump();
  EXPECT_GE(wall, 149.0);
  EXPECT_LT(wall, 2000.0);
  EXPECT_GE(r.at("durationMs").get<double>(), 149.0);
  EXPECT_FALSE(r.contains("exitCode"));  // fields that do not apply are omitted
  EXPECT_FALSE(r.contains("httpStatus"));
}

TEST(Sleep, CancelGivesCanceled) {
  Ctx ctx;
  std::atomic<bool> done{false};
  std::string result;
  auto cb = [](void* user, uint64_t, const char* json_text) {
    auto* p = static_cast<std::pair<std::atomic<bool>*, std::string*>*>(user);
    *p->second = json_text;
    *p->first = true;
  };
  std::pair<std::atomic<bool>*, std::string*> user{&done, &result};
  uint64_t op = 0;
  ASSERT_EQ(lifehook_submit(ctx.get(), R"({"handler":{"sleep":{"seconds":30}}})", cb, &user, &op, nullptr),
            LIFEHOOK_OK);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(lifehook_cancel(ctx.get(), op), LIFEHOOK_OK);
  ASSERT_TRUE(eventually([&] { return done.load(); }));
  EXPECT_LT(ms_since(t0), 1000.0);
  json r = json::parse(result);
  EXPECT_EQ(r.at("outcome"), "canceled");
  EXPECT_GE(r.at("durationMs").get<double>(), 25.0);
}

TEST(Sleep, TimeoutShorterThanTheSleep) {
  Ctx ctx;
  json r = ctx.run(R"({"handler":{"sleep":{"seconds":5}},"timeoutMs":50})");
  EXPECT_EQ(r.at("outcome"), "timeout");
  EXPECT_NE(r.at("message").get<std::string>().find("timed out"), std::string::npos);
}

TEST(Sleep, TimeoutLongerThanTheSleepDoesNotFire) {
  Ctx ctx;
  json r = ctx.run(R"({"handler":{"sleep":{"seconds":0.02}},"timeoutMs":2000})");
  EXPECT_EQ(r.at("outcome"), "success");
}
