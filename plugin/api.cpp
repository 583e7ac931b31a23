// The C ABI of handlers and contexts: thin glue over plugin/context/context.hpp.
#include <spdlog/spdlog.h>

#include <memory>

#include "api_glue.hpp"
#include "context/context.hpp"

struct lifehook_ctx {
  explicit lifehook_ctx(const lifehook::ContextOptions& o) : impl(o) {}
  lifehook::Context impl;
};

namespace lifehook {
// The context behind a handle, for the other C glue files (plugin/pod_api.cpp).
Context& context_of(lifehook_ctx* ctx) { return ctx->impl; }
}  // namespace lifehook

using namespace lifehook;

extern "C" {

uint32_t lifehook_abi_version(void) { return (LIFEHOOK_ABI_MAJOR << 16) | LIFEHOOK_ABI_MINOR; }

const char* lifehook_version(void) { return LIFEHOOK_VERSION_STRING; }

const char* lifehook_status_name(int status) {
  switch (status) {
    case LIFEHOOK_OK: return "LIFEHOOK_OK";
    case LIFEHOOK_E_INVALID: return "LIFEHOOK_E_INVALID";
    case LIFEHOOK_E_STATE: return "LIFEHOOK_E_STATE";
    case LIFEHOOK_E_NOT_FOUND: return "LIFEHOOK_E_NOT_FOUND";
    case LIFEHOOK_E_UNSUPPORTED: return "LIFEHOOK_E_UNSUPPORTED";
    case LIFEHOOK_E_SYSTEM: return "LIFEHOOK_E_SYSTEM";
    case LIFEHOOK_E_NOMEM: return "LIFEHOOK_E_NOMEM";
    default: return "LIFEHOOK_E_UNKNOWN";
  }
}

int lifehook_ctx_new(const char* options_json, lifehook_ctx** out, char** error) {
  return guarded(error, [&] {
    LIFEHOOK_REQUIRE_ARG(out, "out");
    *out = nullptr;
    *out = new lifehook_ctx(parse_context_options(options_json));
  });
}

void lifehook_ctx_free(lifehook_ctx* ctx) {
  if (!ctx) return;
  if (ctx->impl.on_loop_thread()) {
    // Freeing from one of its own threads would have to join that thread: a deadlock (or
    // std::terminate). Refuse loudly instead; the host's bug costs a leak, not the process.
    ctx->impl.log().critical("lifehook_ctx_free called from a library callback; ignored (the context is leaked)");
    return;
  }
  try {
    delete ctx;
  } catch (...) {  // a destructor never throws here, but nothing may cross the ABI
  }
}

int lifehook_ctx_set_logger(lifehook_ctx* ctx, lifehook_log_fn fn, void* user, int min_level) {
  return guarded(nullptr, [&] {
    LIFEHOOK_REQUIRE_ARG(ctx, "ctx");
    if (min_level < 0 || min_level > 6)
      throw_invalid("min_level", "must be between 0 and 6", std::to_string(min_level));
    ctx->impl.set_logger(fn, user, min_level);
  });
}

int lifehook_run(lifehook_ctx* ctx, const char* request_json, char** result_json, char** error) {
  if (result_json) *result_json = nullptr;
  return guarded(error, [&] {
    LIFEHOOK_REQUIRE_ARG(ctx, "ctx");
    LIFEHOOK_REQUIRE_ARG(request_json, "request_json");
    Result r = ctx->impl.run(parse_request(request_json));
    if (result_json) {
      *result_json = dup_c_string(result_json_text(r));
      if (!*result_json) throw std::bad_alloc();
    }
  });
}

int lifehook_submit(lifehook_ctx* ctx, const char* request_json, lifehook_done_fn done, void* user, uint64_t* op,
                    char** error) {
  if (op) *op = 0;
  return guarded(error, [&] {
    LIFEHOOK_REQUIRE_ARG(ctx, "ctx");
    LIFEHOOK_REQUIRE_ARG(request_json, "request_json");
    Request req = parse_request(request_json);
    DoneFn fn;
    if (done)
      fn = [done, user](uint64_t id, const Result& r) {
        std::string text = result_json_text(r);
        done(user, id, text.c_str());
      };
    uint64_t id = ctx->impl.submit(req, std::move(fn));
    if (op) *op = id;
  });
}

int lifehook_cancel(lifehook_ctx* ctx, uint64_t op) {
  return guarded(nullptr, [&] {
    LIFEHOOK_REQUIRE_ARG(ctx, "ctx");
    if (!ctx->impl.cancel(op))
      throw Error(LIFEHOOK_E_NOT_FOUND, "operation " + std::to_string(op) + " is not in flight");
  });
}

void lifehook_free(void* p) { std::free(p); }

}  // extern "C"
