// An out-of-tree C++ program built only with `pkg-config --cflags --libs lifehook` against the
// installed liblifehook-dev: links the library (not dlopen) and runs one sleep and one exec handler.
#include <lifehook/lifehook.h>

#include <cstdio>
#include <cstring>
#include <memory>

namespace {
struct LifehookFree {
  void operator()(void* p) const { lifehook_free(p); }
};
using LifehookString = std::unique_ptr<char, LifehookFree>;

bool run(lifehook_ctx* ctx, const char* request) {
  char* result = nullptr;
  char* error = nullptr;
  int rc = lifehook_run(ctx, request, &result, &error);
  LifehookString owned_result(result), owned_error(error);
  bool ok = rc == LIFEHOOK_OK && std::strstr(result, "\"outcome\":\"success\"") != nullptr;
  std::printf("%s - %s -> %s\n", ok ? "ok  " : "FAIL", request, rc == LIFEHOOK_OK ? result : error);
  return ok;
}
}  // namespace

int main() {
  std::printf("consumer-pkgconfig: header %s, library %s\n", LIFEHOOK_VERSION_STRING, lifehook_version());
  lifehook_ctx* ctx = nullptr;
  char* error = nullptr;
  if (lifehook_ctx_new(nullptr, &ctx, &error) != LIFEHOOK_OK) {
    std::printf("FAIL - lifehook_ctx_new: %s\n", error);
    lifehook_free(error);
    return 1;
  }
  bool ok = run(ctx, R"({"handler": {"sleep": {"seconds": 0}}, "timeoutMs": 5000})");
  ok = run(ctx, R"({"handler": {"exec": {"command": ["/bin/true"]}}, "timeoutMs": 5000})") && ok;
  lifehook_ctx_free(ctx);
  return ok ? 0 : 1;
}
