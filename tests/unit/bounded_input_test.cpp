// Bounded inputs through the C ABI: every JSON document the library reads (request, context and
// pod options, Pod) is refused with LIFEHOOK_E_INVALID and a message naming the limit and the
// path when it nests deeper than 64 levels, exceeds its size, repeats a key or holds a number no
// double holds. 100 000 nested arrays used to overflow the host's stack (recursive dump).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "api_support.hpp"

using namespace lifehook_test;

namespace {

std::string nested(int levels) { return std::string(levels, '[') + std::string(levels, ']'); }

// lifehook_submit's status and error text for `request`.
std::pair<int, std::string> submit(lifehook_ctx* ctx, const std::string& request) {
  char* error = nullptr;
  uint64_t op = 0;
  int rc = lifehook_submit(
      ctx, request.c_str(), [](void*, uint64_t, const char*) {}, nullptr, &op, &error);
  return {rc, take(error)};
}

std::pair<int, std::string> pod_create(lifehook_ctx* ctx, const std::string& pod, const char* options = nullptr) {
  char* error = nullptr;
  lifehook_pod* p = nullptr;
  int rc = lifehook_pod_create(ctx, pod.c_str(), options, nullptr, &p, &error);
  if (p) lifehook_pod_destroy(p);
  return {rc, take(error)};
}

}  // namespace

TEST(BoundedInput, DeeplyNestedRequestIsRefusedNotACrash) {
  Ctx ctx;
  auto [rc, msg] = submit(ctx.get(), R"({"handler":{"sleep":{"seconds":0}},"target":{"a":)" + nested(100000) + "}}");
  EXPECT_EQ(rc, LIFEHOOK_E_INVALID) << msg;
  EXPECT_EQ(msg.rfind("target.a[0][0]", 0), 0u) << msg.substr(0, 300);
  EXPECT_NE(msg.find("nested deeper than 64 levels (the limit)"), std::string::npos) << msg.substr(0, 300);
  // lifehook_run takes the same path.
  char* result = nullptr;
  char* error = nullptr;
  std::string deep = "{\"x\":" + nested(100000) + "}";
  EXPECT_EQ(lifehook_run(ctx.get(), deep.c_str(), &result, &error), LIFEHOOK_E_INVALID);
  EXPECT_NE(take(error).find("(the limit)"), std::string::npos);
  EXPECT_EQ(result, nullptr);
  // 64 levels are still fine as far as the parser goes (the field is then unknown or ignored).
  auto [rc64, msg64] = submit(ctx.get(), "{\"handler\":{\"sleep\":{\"seconds\":0}},\"x\":" + nested(62) + "}");
  EXPECT_EQ(msg64.find("nested deeper"), std::string::npos) << msg64;
  (void)rc64;
}

TEST(BoundedInput, DuplicateKeysAreRefusedWithTheirPath) {
  Ctx ctx;
  auto [rc, msg] = submit(ctx.get(), R"({"handler":{"exec":{"command":["true"]},"exec":{"command":["false"]}}})");
  EXPECT_EQ(rc, LIFEHOOK_E_INVALID) << msg;
  EXPECT_EQ(msg, "handler.exec: duplicate key \"exec\" (each key may appear once)");
  auto [rc2, msg2] = submit(ctx.get(), R"({"handler":{"sleep":{"seconds":0,"seconds":5}}})");
  EXPECT_EQ(rc2, LIFEHOOK_E_INVALID);
  EXPECT_EQ(msg2, "handler.sleep.seconds: duplicate key \"seconds\" (each key may appear once)");
}

TEST(BoundedInput, OversizedRequestNamesTheLimit) {
  Ctx ctx;
  std::string big = R"({"handler":{"sleep":{"seconds":0}},"pad":")" + std::string(5 << 20, 'x') + "\"}";
  auto [rc, msg] = submit(ctx.get(), big);
  EXPECT_EQ(rc, LIFEHOOK_E_INVALID);
  EXPECT_EQ(msg.rfind("request: is larger than 4194304 bytes (the limit", 0), 0u) << msg;
}

TEST(BoundedInput, NumberOutOfRangeNamesTheField) {
  Ctx ctx;
  auto [rc, msg] = submit(ctx.get(), R"({"handler":{"sleep":{"seconds":0}},"timeoutMs":1e999})");
  EXPECT_EQ(rc, LIFEHOOK_E_INVALID) << msg;
  EXPECT_EQ(msg.rfind("timeoutMs: is a number out of range", 0), 0u) << msg;
}

TEST(BoundedInput, ContextOptionsAreBounded) {
  lifehook_ctx* ctx = nullptr;
  char* error = nullptr;
  std::string options = "{\"threads\":1,\"x\":" + nested(100000) + "}";
  EXPECT_EQ(lifehook_ctx_new(options.c_str(), &ctx, &error), LIFEHOOK_E_INVALID);
  EXPECT_EQ(take(error).rfind("options.x[0]", 0), 0u);
  EXPECT_EQ(lifehook_ctx_new(R"({"threads":1,"threads":2})", &ctx, &error), LIFEHOOK_E_INVALID);
  EXPECT_EQ(take(error), "options.threads: duplicate key \"threads\" (each key may appear once)");
  EXPECT_EQ(ctx, nullptr);
}

TEST(BoundedInput, PodJsonAndPodOptionsAreBounded) {
  Ctx ctx;
  std::string pod = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":)" + nested(100000) +
                    R"(},"spec":{"containers":[{"name":"c","command":["true"]}]}})";
  auto [rc, msg] = pod_create(ctx.get(), pod);
  EXPECT_EQ(rc, LIFEHOOK_E_INVALID) << msg.substr(0, 300);
  EXPECT_EQ(msg.rfind("metadata.labels[0]", 0), 0u) << msg.substr(0, 300);
  EXPECT_NE(msg.find("nested deeper than 64 levels (the limit)"), std::string::npos);

  auto [rc2, msg2] = pod_create(ctx.get(), R"({"kind":"Pod","kind":"Pod"})");
  EXPECT_EQ(rc2, LIFEHOOK_E_INVALID);
  EXPECT_EQ(msg2, "kind: duplicate key \"kind\" (each key may appear once)");

  std::string ok_pod =
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","command":["true"]}]}})";
  std::string options = "{\"driver\":\"process\",\"x\":" + nested(100000) + "}";
  auto [rc3, msg3] = pod_create(ctx.get(), ok_pod, options.c_str());
  EXPECT_EQ(rc3, LIFEHOOK_E_INVALID);
  EXPECT_EQ(msg3.rfind("options.x[0]", 0), 0u) << msg3.substr(0, 200);
}

// execMode "runtime" finds the container of target.pid in <runtimeRoot>/<id>/state.json: files the
// runtime wrote, or anyone who can write into its root. A FIFO there used to block the lookup in
// open(2) for good; a symlink to /dev/zero or a huge file is refused the same way, each named in
// the error rather than read.
TEST(BoundedInput, RuntimeStateThatIsNoRegularFileIsRefusedNotWaitedOn) {
  std::string root = "/tmp/lifehook-state-input-" + std::to_string(::getpid());
  std::filesystem::remove_all(root);
  for (const char* id : {"fifo", "zero", "huge"}) std::filesystem::create_directories(root + "/" + id);
  ASSERT_EQ(::mkfifo((root + "/fifo/state.json").c_str(), 0600), 0);
  std::filesystem::create_symlink("/dev/zero", root + "/zero/state.json");
  std::ofstream(root + "/huge/state.json").close();
  std::filesystem::resize_file(root + "/huge/state.json", (size_t{4} << 20) + 1);  // sparse
  Ctx ctx;
  json request = {{"handler", {{"exec", {{"command", {"true"}}}}}},
                  {"target", {{"pid", ::getpid()}, {"execMode", "runtime"}, {"runtimeRoot", root}}}};
  auto run = std::async(std::launch::async, [&] { return ctx.run(request.dump()); });
  if (run.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    // Release it: a writer that comes and goes lets its open(2) return and its read see the end.
    int writer = ::open((root + "/fifo/state.json").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (writer >= 0) ::close(writer);
    run.wait();
    FAIL() << "the lookup waited on the FIFO";
  }
  json result = run.get();
  EXPECT_EQ(result.value("outcome", ""), "error") << result.dump();
  std::string message = result.value("message", "");
  EXPECT_NE(message.find("no OCI runtime container has init pid " + std::to_string(::getpid())), std::string::npos)
      << message;
  EXPECT_NE(message.find(root + "/fifo/state.json: is a FIFO, not a regular file"), std::string::npos) << message;
  EXPECT_NE(message.find(root + "/zero/state.json: is a character device, not a regular file"), std::string::npos)
      << message;
  EXPECT_NE(message.find(root + "/huge/state.json: is larger than 4194304 bytes (the limit"), std::string::npos)
      << message;
  std::filesystem::remove_all(root);
}

// A repeated key is found however many keys its object has and however deep it is, inside
// arrays too, and its path names where it is.
TEST(BoundedInput, DuplicateKeysAreFoundInLargeAndNestedObjects) {
  Ctx ctx;
  std::string many = "{";
  for (int i = 0; i < 40; ++i) many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  auto [rc, msg] =
      submit(ctx.get(), R"({"handler":{"sleep":{"seconds":0}},"x":[1,{"a":[)" + many + R"("k17":0}]},{"b":{}}]})");
  EXPECT_EQ(rc, LIFEHOOK_E_INVALID) << msg;
  EXPECT_EQ(msg, "x[1].a[0].k17: duplicate key \"k17\" (each key may appear once)");
  // The same key in sibling and nested objects is no repetition.
  auto [rc2, msg2] =
      submit(ctx.get(), R"({"handler":{"sleep":{"seconds":0}},"x":{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}})");
  EXPECT_EQ(rc2, LIFEHOOK_OK) << msg2;
  auto [rc3, msg3] = submit(ctx.get(), R"({"handler":{"sleep":{"seconds":0}},"x":{"a":{"a":{"a":1}},"a":2}})");
  EXPECT_EQ(rc3, LIFEHOOK_E_INVALID);
  EXPECT_EQ(msg3, "x.a: duplicate key \"a\" (each key may appear once)");
}
