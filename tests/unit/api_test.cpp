// The C ABI surface: versions, status names, the dlopen table, error strings, argument checks,
// and the engine's guarantees (exactly-once completion, cancel, timeout precision, a clean free).
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "api_support.hpp"

using namespace lifehook_test;

namespace {

const char* kSleep10s = R"({"handler":{"sleep":{"seconds":10}}})";

struct Done {
  std::mutex mu;
  std::map<uint64_t, int> calls;
  std::map<uint64_t, std::string> outcome;
  std::atomic<int> total{0};

  static void fn(void* user, uint64_t op, const char* result_json) {
    auto* self = static_cast<Done*>(user);
    std::string outcome = json::parse(result_json).at("outcome").get<std::string>();
    std::lock_guard<std::mutex> lock(self->mu);
    ++self->calls[op];
    self->outcome[op] = outcome;
    ++self->total;
  }
};

uint64_t submit(lifehook_ctx* ctx, const std::string& request, Done& done) {
  uint64_t op = 0;
  char* error = nullptr;
  int rc = lifehook_submit(ctx, request.c_str(), &Done::fn, &done, &op, &error);
  EXPECT_EQ(rc, LIFEHOOK_OK) << lifehook_status_name(rc) << ": " << take(error);
  EXPECT_NE(op, 0u);
  return op;
}

}  // namespace

TEST(Api, VersionsAndStatusNames) {
  EXPECT_EQ(lifehook_abi_version(), (uint32_t{LIFEHOOK_ABI_MAJOR} << 16) | LIFEHOOK_ABI_MINOR);
  EXPECT_STREQ(lifehook_version(), LIFEHOOK_VERSION_STRING);
  EXPECT_STREQ(lifehook_version(), "1.1.0");
  EXPECT_STREQ(lifehook_status_name(LIFEHOOK_OK), "LIFEHOOK_OK");
  EXPECT_STREQ(lifehook_status_name(LIFEHOOK_E_INVALID), "LIFEHOOK_E_INVALID");
  EXPECT_STREQ(lifehook_status_name(LIFEHOOK_E_STATE), "LIFEHOOK_E_STATE");
  EXPECT_STREQ(lifehook_status_name(LIFEHOOK_E_NOT_FOUND), "LIFEHOOK_E_NOT_FOUND");
  EXPECT_STREQ(lifehook_status_name(LIFEHOOK_E_UNSUPPORTED), "LIFEHOOK_E_UNSUPPORTED");
  EXPECT_STREQ(lifehook_status_name(LIFEHOOK_E_SYSTEM), "LIFEHOOK_E_SYSTEM");
  EXPECT_STREQ(lifehook_status_name(LIFEHOOK_E_NOMEM), "LIFEHOOK_E_NOMEM");
  for (int other : {-1, 7, 1000}) EXPECT_STREQ(lifehook_status_name(other), "LIFEHOOK_E_UNKNOWN");
}

TEST(Api, FunctionTableForDlopenHosts) {
  const lifehook_api* api = lifehook_get_api(LIFEHOOK_ABI_MAJOR);
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->struct_size, sizeof(lifehook_api));
  EXPECT_EQ(api->abi_version, lifehook_abi_version());
  EXPECT_EQ(api->abi_version_fn, &lifehook_abi_version);
  EXPECT_EQ(api->version, &lifehook_version);
  EXPECT_EQ(api->status_name, &lifehook_status_name);
  EXPECT_EQ(api->ctx_new, &lifehook_ctx_new);
  EXPECT_EQ(api->ctx_free, &lifehook_ctx_free);
  EXPECT_EQ(api->ctx_set_logger, &lifehook_ctx_set_logger);
  EXPECT_EQ(api->run, &lifehook_run);
  EXPECT_EQ(api->submit, &lifehook_submit);
  EXPECT_EQ(api->cancel, &lifehook_cancel);
  EXPECT_EQ(api->free_fn, &lifehook_free);
  EXPECT_EQ(api->pod_create, &lifehook_pod_create);
  EXPECT_EQ(api->pod_destroy, &lifehook_pod_destroy);
  EXPECT_EQ(lifehook_get_api(0), nullptr);
  EXPECT_EQ(lifehook_get_api(2), nullptr);
}

TEST(Api, NullArgumentsAreInvalidAndNamed) {
  char* error = nullptr;
  EXPECT_EQ(lifehook_ctx_new(nullptr, nullptr, &error), LIFEHOOK_E_INVALID);
  EXPECT_NE(take(error).find("out"), std::string::npos);
  EXPECT_EQ(lifehook_run(nullptr, "{}", nullptr, &error), LIFEHOOK_E_INVALID);
  EXPECT_NE(take(error).find("ctx"), std::string::npos);
  Ctx ctx;
  char* result = reinterpret_cast<char*>(0x1);  // must be reset, not left dangling
  EXPECT_EQ(lifehook_run(ctx.get(), nullptr, &result, &error), LIFEHOOK_E_INVALID);
  EXPECT_EQ(result, nullptr);
  EXPECT_NE(take(error).find("request_json"), std::string::npos);
  EXPECT_EQ(lifehook_submit(ctx.get(), nullptr, nullptr, nullptr, nullptr, nullptr), LIFEHOOK_E_INVALID);
  EXPECT_EQ(lifehook_cancel(nullptr, 1), LIFEHOOK_E_INVALID);
  EXPECT_EQ(lifehook_ctx_set_logger(nullptr, nullptr, nullptr, 3), LIFEHOOK_E_INVALID);
  EXPECT_EQ(lifehook_ctx_set_logger(ctx.get(), nullptr, nullptr, 7), LIFEHOOK_E_INVALID);
  lifehook_ctx_free(nullptr);  // no-ops
  lifehook_free(nullptr);
}

TEST(Api, ErrorIsMallocdAndNullOnSuccess) {
  Ctx ctx;
  char* error = reinterpret_cast<char*>(0x1);
  char* result = nullptr;
  ASSERT_EQ(lifehook_run(ctx.get(), R"({"handler":{"sleep":{"seconds":0}}})", &result, &error), LIFEHOOK_OK);
  EXPECT_EQ(error, nullptr);
  ASSERT_NE(result, nullptr);
  EXPECT_EQ(json::parse(result).at("outcome"), "success");
  lifehook_free(result);
  // An error string is a plain malloc'd, NUL-terminated one-line message that lifehook_free releases.
  ASSERT_EQ(lifehook_run(ctx.get(), "[1,2", &result, &error), LIFEHOOK_E_INVALID);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(std::strchr(error, '\n'), nullptr) << error;
  lifehook_free(error);
  // error may be NULL: the status alone is returned.
  EXPECT_EQ(lifehook_run(ctx.get(), "[1,2", nullptr, nullptr), LIFEHOOK_E_INVALID);
}

TEST(Api, NonJsonRequestNamesRequestAndPosition) {
  Ctx ctx;
  char* error = nullptr;
  ASSERT_EQ(
      lifehook_run(ctx.get(), "{\"handler\": {\"sleep\": {\"seconds\": 1}},\n \"timeoutMs\": oops}", nullptr, &error),
      LIFEHOOK_E_INVALID);
  std::string msg = take(error);
  std::printf("non-JSON request: %s\n", msg.c_str());
  EXPECT_EQ(msg.rfind("request: is not valid JSON", 0), 0u) << msg;
  EXPECT_NE(msg.find("line 2, column"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << msg;

  ASSERT_EQ(lifehook_run(ctx.get(), "", nullptr, &error), LIFEHOOK_E_INVALID);
  msg = take(error);
  EXPECT_NE(msg.find("request"), std::string::npos) << msg;
  EXPECT_NE(msg.find("column"), std::string::npos) << msg;
}

TEST(Api, InvalidOptionsNameTheField) {
  lifehook_ctx* ctx = reinterpret_cast<lifehook_ctx*>(0x1);
  char* error = nullptr;
  ASSERT_EQ(lifehook_ctx_new(R"({"threads": 0})", &ctx, &error), LIFEHOOK_E_INVALID);
  EXPECT_EQ(ctx, nullptr);
  std::string msg = take(error);
  EXPECT_NE(msg.find("options.threads"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0"), std::string::npos) << msg;
  ASSERT_EQ(lifehook_ctx_new(R"({"logLevel": "loud"})", &ctx, &error), LIFEHOOK_E_INVALID);
  msg = take(error);
  EXPECT_NE(msg.find("options.logLevel"), std::string::npos) << msg;
  EXPECT_NE(msg.find("loud"), std::string::npos) << msg;
  ASSERT_EQ(lifehook_ctx_new("{threads: 2}", &ctx, &error), LIFEHOOK_E_INVALID);
  msg = take(error);
  EXPECT_NE(msg.find("options: is not valid JSON"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 1, column"), std::string::npos) << msg;
  ASSERT_EQ(lifehook_ctx_new(R"({"threads": 3, "logLevel": "debug", "maxOutputBytes": 100})", &ctx, &error),
            LIFEHOOK_OK);
  EXPECT_EQ(error, nullptr);
  lifehook_ctx_free(ctx);
}

TEST(Api, SubmitValidationErrorDoesNotCallDone) {
  Ctx ctx;
  Done done;
  uint64_t op = 77;
  char* error = nullptr;
  EXPECT_EQ(lifehook_submit(ctx.get(), R"({"handler":{"sleep":{"seconds":-1}}})", &Done::fn, &done, &op, &error),
            LIFEHOOK_E_INVALID);
  EXPECT_EQ(op, 0u);
  EXPECT_NE(take(error).find("handler.sleep.seconds"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(done.total.load(), 0);
}

TEST(Api, TimeoutLandsWithinFiftyMilliseconds) {
  Ctx ctx;
  auto t0 = std::chrono::steady_clock::now();
  json r = ctx.run(R"({"handler":{"sleep":{"seconds":10}},"timeoutMs":200})");
  double wall = ms_since(t0);
  std::printf("sleep 10 s with timeoutMs 200: outcome %s after %.2f ms wall, durationMs %.3f\n",
              r.value("outcome", "?").c_str(), wall, r.value("durationMs", -1.0));
  EXPECT_EQ(r.at("outcome"), "timeout");
  EXPECT_GE(wall, 199.0);
  EXPECT_LT(wall, 200.0 + 200.0);  // the target is +50 ms; generous for loaded CI and sanitizers
  EXPECT_GE(r.at("durationMs").get<double>(), 199.0);
}

TEST(Api, CancelInFlightCompletesOnceAsCanceled) {
  Ctx ctx;
  Done done;
  uint64_t op = submit(ctx.get(), kSleep10s, done);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(lifehook_cancel(ctx.get(), op), LIFEHOOK_OK);
  ASSERT_TRUE(eventually([&] { return done.total.load() == 1; }));
  EXPECT_LT(ms_since(t0), 1000.0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::lock_guard<std::mutex> lock(done.mu);
  EXPECT_EQ(done.calls[op], 1);
  EXPECT_EQ(done.outcome[op], "canceled");
  EXPECT_EQ(lifehook_cancel(ctx.get(), op), LIFEHOOK_E_NOT_FOUND);
  EXPECT_EQ(lifehook_cancel(ctx.get(), 123456), LIFEHOOK_E_NOT_FOUND);
}

// Natural finish, timeout and cancel racing on the same operations: each completes exactly once.
TEST(Api, FinishTimeoutAndCancelRacesCompleteExactlyOnce) {
  Ctx ctx(R"({"threads": 4})");
  Done done;
  std::vector<uint64_t> ops;
  for (int i = 0; i < 400; ++i) {
    int ms = i % 5;  // the sleep and its timeout end on the same millisecond
    ops.push_back(submit(ctx.get(),
                         R"({"handler":{"sleep":{"seconds":)" + std::to_string(ms / 1000.0) + R"(}},"timeoutMs":)" +
                             std::to_string(ms) + "}",
                         done));
    if (i % 2) lifehook_cancel(ctx.get(), ops.back());
  }
  std::thread canceller([&] {
    for (uint64_t op : ops) lifehook_cancel(ctx.get(), op);  // NOT_FOUND for the finished ones
  });
  canceller.join();
  ASSERT_TRUE(eventually([&] { return done.total.load() >= 400; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard<std::mutex> lock(done.mu);
  EXPECT_EQ(done.total.load(), 400);
  std::map<std::string, int> by_outcome;
  for (uint64_t op : ops) {
    EXPECT_EQ(done.calls[op], 1) << "op " << op;
    ++by_outcome[done.outcome[op]];
  }
  for (auto& [o, n] : by_outcome) std::printf("  %s: %d\n", o.c_str(), n);
  EXPECT_EQ(by_outcome.count("error"), 0u);
}

namespace {
struct Reentrant {
  lifehook_ctx* ctx = nullptr;
  std::atomic<int> run_rc{-1};
  std::atomic<int> submit_rc{-1};
  std::string run_error;
  std::atomic<bool> called{false};
};
}  // namespace

TEST(Api, RunFromDoneCallbackIsStateErrorNotDeadlock) {
  Ctx ctx(R"({"threads": 1})");
  Reentrant r;
  r.ctx = ctx.get();
  auto cb = [](void* user, uint64_t, const char*) {
    auto* r = static_cast<Reentrant*>(user);
    char* error = nullptr;
    char* result = nullptr;
    r->run_rc = lifehook_run(r->ctx, R"({"handler":{"sleep":{"seconds":0}}})", &result, &error);
    r->run_error = take(error);
    lifehook_free(result);
    r->called = true;
  };
  char* error = nullptr;
  ASSERT_EQ(lifehook_submit(ctx.get(), R"({"handler":{"sleep":{"seconds":0}}})", cb, &r, nullptr, &error), LIFEHOOK_OK)
      << take(error);
  ASSERT_TRUE(eventually([&] { return r.called.load(); }, std::chrono::seconds(5)));
  EXPECT_EQ(r.run_rc.load(), LIFEHOOK_E_STATE);
  EXPECT_NE(r.run_error.find("callback"), std::string::npos) << r.run_error;
  // The loop is still alive afterwards.
  EXPECT_EQ(ctx.run(R"({"handler":{"sleep":{"seconds":0}}})").at("outcome"), "success");
}

TEST(Api, CtxFreeCancelsEverythingAndLeavesNoThreadOrDescriptor) {
  { Ctx warm_up; }   // one-time process-wide initialisation is not a leak
  Listener full(0);  // never accepts: connects to it stay pending once its queue is full
  int threads_before = count_threads();
  int fds_before = count_fds();

  auto ctx = std::make_unique<Ctx>(R"({"threads": 3})");
  EXPECT_EQ(count_threads_named("lifehook-loop"), 3);
  Done done;
  std::vector<uint64_t> ops;
  for (int i = 0; i < 50; ++i) ops.push_back(submit(ctx->get(), kSleep10s, done));
  for (int i = 0; i < 10; ++i)
    ops.push_back(submit(ctx->get(),
                         R"({"handler":{"tcpSocket":{"host":"127.0.0.1","port":)" + std::to_string(full.port()) + "}}}",
                         done));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto t0 = std::chrono::steady_clock::now();
  ctx->reset();
  double free_ms = ms_since(t0);
  std::printf("lifehook_ctx_free with %zu operations in flight: %.1f ms\n", ops.size(), free_ms);
  EXPECT_LT(free_ms, 3000.0);
  // Every done callback ran before ctx_free returned, exactly once.
  {
    std::lock_guard<std::mutex> lock(done.mu);
    EXPECT_EQ(done.total.load(), static_cast<int>(ops.size()));
    for (size_t i = 0; i < 50; ++i) {
      EXPECT_EQ(done.calls[ops[i]], 1);
      EXPECT_EQ(done.outcome[ops[i]], "canceled");
    }
    for (size_t i = 50; i < ops.size(); ++i) EXPECT_EQ(done.calls[ops[i]], 1);
  }
  EXPECT_EQ(count_threads(), threads_before);
  EXPECT_EQ(count_threads_named("lifehook-loop"), 0);
  EXPECT_EQ(count_fds(), fds_before);
}

TEST(Api, SubmitFromCallbackDuringFreeIsRefused) {
  Reentrant r;
  auto ctx = std::make_unique<Ctx>();
  r.ctx = ctx->get();
  auto cb = [](void* user, uint64_t, const char*) {
    auto* r = static_cast<Reentrant*>(user);
    r->submit_rc =
        lifehook_submit(r->ctx, R"({"handler":{"sleep":{"seconds":10}}})", nullptr, nullptr, nullptr, nullptr);
    r->called = true;
  };
  ASSERT_EQ(lifehook_submit(ctx->get(), kSleep10s, cb, &r, nullptr, nullptr), LIFEHOOK_OK);
  ctx->reset();
  EXPECT_TRUE(r.called.load());
  EXPECT_EQ(r.submit_rc.load(), LIFEHOOK_E_STATE);
}

namespace {
struct Lines {
  std::mutex mu;
  std::vector<std::pair<int, std::string>> lines;
  static void fn(void* user, int level, const char* message) {
    auto* self = static_cast<Lines*>(user);
    std::lock_guard<std::mutex> lock(self->mu);
    self->lines.emplace_back(level, message);
  }
};
}  // namespace

TEST(Api, LoggerReceivesLinesAtOrAboveItsLevel) {
  Ctx ctx;
  Lines lines;
  ASSERT_EQ(lifehook_ctx_set_logger(ctx.get(), &Lines::fn, &lines, 1), LIFEHOOK_OK);
  ctx.run(R"({"handler":{"sleep":{"seconds":0}}})");
  {
    std::lock_guard<std::mutex> lock(lines.mu);
    ASSERT_FALSE(lines.lines.empty());
    bool found = false;
    for (auto& [level, text] : lines.lines) {
      EXPECT_GE(level, 1);
      found = found || text.find("sleep") != std::string::npos;
    }
    EXPECT_TRUE(found);
    lines.lines.clear();
  }
  ASSERT_EQ(lifehook_ctx_set_logger(ctx.get(), &Lines::fn, &lines, 4), LIFEHOOK_OK);
  ctx.run(R"({"handler":{"sleep":{"seconds":0}}})");
  std::lock_guard<std::mutex> lock(lines.mu);
  EXPECT_TRUE(lines.lines.empty());
}
