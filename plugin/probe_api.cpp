// The C ABI of standalone probes: thin glue over plugin/probe/standalone.hpp.
//
// Ownership: a lifehook_probe is the host's until lifehook_probe_stop, which frees it. The engine
// behind it is shared with the context: lifehook_ctx_free closes probes still running through a
// context closer (no callback after that; lifehook_probe_state then answers with the last state)
// and the handle must still be released with lifehook_probe_stop.
#include <memory>
#include <mutex>

#include "api_glue.hpp"
#include "context/context.hpp"
#include "probe/standalone.hpp"

namespace lifehook {
Context& context_of(lifehook_ctx* ctx);  // plugin/api.cpp
}

struct lifehook_probe {
  lifehook::Context* ctx = nullptr;
  std::mutex mu;
  std::shared_ptr<lifehook::probe::Standalone> engine;  // null once the context closed it
  std::string final_state;                              // the state when the context closed it
  bool closed_by_context = false;
};

using namespace lifehook;

namespace {

// Detaches the engine from the handle and closes it: no callback runs after this returns.
std::shared_ptr<probe::Standalone> detach(lifehook_probe* h) {
  std::shared_ptr<probe::Standalone> e;
  {
    std::lock_guard<std::mutex> lock(h->mu);
    e = std::move(h->engine);
  }
  if (e) {
    e->close();
    std::string last = e->state_json();
    std::lock_guard<std::mutex> lock(h->mu);
    h->final_state = std::move(last);
  }
  return e;
}

}  // namespace

extern "C" {

int lifehook_probe_start(lifehook_ctx* ctx, const char* probe_json, const char* target_json, lifehook_probe_fn fn,
                         void* user, lifehook_probe** out, char** error) {
  if (out) *out = nullptr;
  return guarded(error, [&] {
    LIFEHOOK_REQUIRE_ARG(ctx, "ctx");
    LIFEHOOK_REQUIRE_ARG(probe_json, "probe_json");
    LIFEHOOK_REQUIRE_ARG(out, "out");
    Context& c = context_of(ctx);
    probe::StandaloneSpec spec = probe::parse_standalone(probe_json, target_json ? target_json : "");
    auto handle = std::make_unique<lifehook_probe>();
    lifehook_probe* h = handle.get();
    handle->ctx = &c;
    probe::Standalone::Callback cb;
    if (fn) cb = [fn, user, h](const std::string& state) { fn(user, h, state.c_str()); };
    handle->engine = probe::Standalone::create(c, std::move(spec), std::move(cb));
    c.add_closer(h, [h] {
      {
        std::lock_guard<std::mutex> lock(h->mu);
        h->closed_by_context = true;
      }
      try {
        detach(h);     // the engine is released here, while the context's loop still exists
      } catch (...) {  // never from a context destructor
      }
    });
    handle->engine->start();
    *out = handle.release();
  });
}

int lifehook_probe_state(lifehook_probe* probe, char** state_json) {
  if (state_json) *state_json = nullptr;
  return guarded(nullptr, [&] {
    LIFEHOOK_REQUIRE_ARG(probe, "probe");
    LIFEHOOK_REQUIRE_ARG(state_json, "state_json");
    std::shared_ptr<probe::Standalone> e;
    std::string s;
    {
      std::lock_guard<std::mutex> lock(probe->mu);
      e = probe->engine;
      if (!e) s = probe->final_state;
    }
    if (e) s = e->state_json();
    *state_json = dup_c_string(s);
    if (!*state_json) throw std::bad_alloc();
  });
}

void lifehook_probe_stop(lifehook_probe* probe) {
  if (!probe) return;
  try {
    bool closed;
    {
      std::lock_guard<std::mutex> lock(probe->mu);
      closed = probe->closed_by_context;
    }
    if (!closed) probe->ctx->remove_closer(probe);
    detach(probe);
  } catch (...) {  // nothing crosses the ABI
  }
  delete probe;
}

}  // extern "C"
