// The C ABI of pods: thin glue over plugin/pod/pod.hpp. A lifehook_pod is a handle holding the
// engine; lifehook_ctx_free shuts down pods still alive through a context closer, after which
// the handle only answers LIFEHOOK_E_STATE and lifehook_pod_destroy just frees it.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include "api_glue.hpp"
#include "context/context.hpp"
#include "pod/driver.hpp"
#include "pod/pod.hpp"
#include "pod/validate.hpp"

namespace lifehook {
Context& context_of(lifehook_ctx* ctx);  // plugin/api.cpp
}

struct lifehook_pod {
  lifehook::Context* ctx = nullptr;
  std::mutex mu;
  std::shared_ptr<lifehook::pod::Pod> pod;  // null once the context closed it
  bool closed_by_context = false;
};

using namespace lifehook;

namespace {

std::shared_ptr<pod::Pod> engine(lifehook_pod* handle) {
  LIFEHOOK_REQUIRE_ARG(handle, "pod");
  std::lock_guard<std::mutex> lock(handle->mu);
  if (!handle->pod) throw_state("the pod's context was freed");
  return handle->pod;
}

// The host's driver when given, else the built-in one named in the options.
pod::DriverFactory driver_factory(const pod::PodOptions& options, const lifehook_driver* driver) {
  if (driver) {
    // The host's struct may be freed after this call, and may be older (smaller) than ours.
    lifehook_driver copy{};
    std::memcpy(&copy, driver, std::min<size_t>(driver->struct_size, sizeof copy));
    return [copy](drivers::DriverEnv env) { return drivers::make_host_driver(copy, std::move(env)); };
  }
  std::string name = options.driver;
  json raw = options.raw;
  return [name, raw](drivers::DriverEnv env) { return drivers::make_builtin_driver(name, std::move(env), raw); };
}

// Everything lifehook_pod_create checks, every problem at once, and every field ignored.
pod::Validation validate(Context& c, const char* pod_json, const char* options_json, const lifehook_driver* driver) {
  pod::Problems problems;
  pod::PodOptions options;
  pod::PodSpec spec;
  pod::Validation v;
  bool options_ok = pod::Problems::step(&problems, [&] { options = pod::parse_pod_options(options_json); });
  pod::Problems::step(&problems, [&] { spec = pod::parse_pod(pod_json, &problems); });
  if (options_ok) {
    std::unique_ptr<drivers::Driver> d;
    // The driver is made, never started: it only answers questions about the spec.
    pod::Problems::step(&problems, [&] {
      d = driver_factory(options,
                         driver)(drivers::DriverEnv{c, spec, [](const std::string&, drivers::InstanceId, int, int) {}});
    });
    if (d) {
      if (!spec.containers.empty() || !spec.init_containers.empty()) {
        std::vector<pod::Finding> more;
        pod::check_with_driver(spec, *d, problems.list, more);
        problems.list.insert(problems.list.end(), more.begin(), more.end());
      }
      v.warnings = pod::unimplemented_fields(spec, *d);
    }
  }
  v.problems = std::move(problems.list);
  return v;
}

// The handle of a new pod, which the context shuts down if the host has not destroyed it first.
lifehook_pod* new_handle(Context& c, std::shared_ptr<pod::Pod> made) {
  auto handle = std::make_unique<lifehook_pod>();
  handle->ctx = &c;
  handle->pod = std::move(made);
  lifehook_pod* h = handle.get();
  c.add_closer(h, [h] {
    std::shared_ptr<pod::Pod> p;
    {
      std::lock_guard<std::mutex> lock(h->mu);
      p = std::move(h->pod);
      h->closed_by_context = true;
    }
    if (p) {
      try {
        p->shutdown();
      } catch (...) {  // never from a context destructor
      }
    }
  });
  return handle.release();
}

}  // namespace

extern "C" {

int lifehook_pod_create(lifehook_ctx* ctx, const char* pod_json, const char* options_json,
                        const lifehook_driver* driver, lifehook_pod** out, char** error) {
  if (out) *out = nullptr;
  return guarded(error, [&] {
    LIFEHOOK_REQUIRE_ARG(ctx, "ctx");
    LIFEHOOK_REQUIRE_ARG(pod_json, "pod_json");
    LIFEHOOK_REQUIRE_ARG(out, "out");
    Context& c = context_of(ctx);
    pod::PodOptions options = pod::parse_pod_options(options_json);
    pod::PodSpec spec = pod::parse_pod(pod_json);
    pod::DriverFactory factory = driver_factory(options, driver);
    *out = new_handle(c, pod::Pod::create(c, std::move(spec), std::move(options), std::move(factory)));
  });
}

int lifehook_pod_adopt(lifehook_ctx* ctx, const char* state_dir, const char* options_json,
                       const lifehook_driver* driver, lifehook_pod** out, char** error) {
  if (out) *out = nullptr;
  return guarded(error, [&] {
    LIFEHOOK_REQUIRE_ARG(ctx, "ctx");
    LIFEHOOK_REQUIRE_ARG(state_dir, "state_dir");
    LIFEHOOK_REQUIRE_ARG(out, "out");
    if (state_dir[0] != '/') throw_invalid("state_dir", "must be an absolute directory path", state_dir);
    if (driver)
      throw Error(LIFEHOOK_E_UNSUPPORTED,
                  "driver: the containers of a host's driver are the host's: it adopts them itself (pass NULL)");
    Context& c = context_of(ctx);
    json options = json::object();
    if (options_json && *options_json) options = pod::parse_pod_options(options_json).raw;
    *out = new_handle(
        c, pod::Pod::adopt(c, state_dir, options, [](const pod::PodOptions& o) { return driver_factory(o, nullptr); }));
  });
}

int lifehook_pod_start(lifehook_pod* pod) {
  return guarded(nullptr, [&] { engine(pod)->start(); });
}

int lifehook_pod_terminate(lifehook_pod* pod, int64_t grace_ms) {
  return guarded(nullptr, [&] { engine(pod)->terminate(grace_ms); });
}

int lifehook_pod_wait(lifehook_pod* pod, int64_t timeout_ms) {
  return guarded(nullptr, [&] {
    if (!engine(pod)->wait(timeout_ms)) throw_state("timed out waiting for the pod");
  });
}

int lifehook_pod_status(lifehook_pod* pod, char** status_json) {
  if (status_json) *status_json = nullptr;
  return guarded(nullptr, [&] {
    LIFEHOOK_REQUIRE_ARG(status_json, "status_json");
    std::string s = engine(pod)->status_json();
    *status_json = dup_c_string(s);
    if (!*status_json) throw std::bad_alloc();
  });
}

int lifehook_pod_watch(lifehook_pod* pod, lifehook_event_fn fn, void* user) {
  return guarded(nullptr, [&] {
    LIFEHOOK_REQUIRE_ARG(fn, "fn");
    engine(pod)->watch(fn, user);
  });
}

int lifehook_pod_container_exited(lifehook_pod* pod, const char* container_name, int exit_code, int signal) {
  return guarded(nullptr, [&] {
    LIFEHOOK_REQUIRE_ARG(container_name, "container_name");
    if (exit_code < -1 || exit_code > 255)
      throw_invalid("exit_code", "must be between 0 and 255 (-1: unknown)", std::to_string(exit_code));
    if (signal < 0 || signal > 64) throw_invalid("signal", "must be between 0 and 64", std::to_string(signal));
    engine(pod)->container_exited(container_name, exit_code, signal);
  });
}

int lifehook_pod_validate(lifehook_ctx* ctx, const char* pod_json, const char* options_json,
                          const lifehook_driver* driver, char** report_json) {
  if (report_json) *report_json = nullptr;
  int status = LIFEHOOK_OK;
  int rc = guarded(nullptr, [&] {
    LIFEHOOK_REQUIRE_ARG(ctx, "ctx");
    LIFEHOOK_REQUIRE_ARG(pod_json, "pod_json");
    LIFEHOOK_REQUIRE_ARG(report_json, "report_json");
    pod::Validation v = validate(context_of(ctx), pod_json, options_json, driver);
    if (!v.problems.empty()) status = v.problems.front().status;
    std::string s = pod::validation_json(v).dump(-1, ' ', false, json::error_handler_t::replace);
    *report_json = dup_c_string(s);
    if (!*report_json) throw std::bad_alloc();
  });
  return rc != LIFEHOOK_OK ? rc : status;
}

int lifehook_pod_set_condition(lifehook_pod* pod, const char* condition_json) {
  return guarded(nullptr, [&] {
    LIFEHOOK_REQUIRE_ARG(condition_json, "condition_json");
    json c = pod::parse_host_condition(condition_json);
    engine(pod)->set_condition(std::move(c));
  });
}

int lifehook_pod_update(lifehook_pod* pod, const char* pod_json, char** error) {
  return guarded(error, [&] {
    LIFEHOOK_REQUIRE_ARG(pod_json, "pod_json");
    engine(pod)->update(pod::parse_pod(pod_json));
  });
}

void lifehook_pod_destroy(lifehook_pod* pod) {
  if (!pod) return;
  try {
    std::shared_ptr<pod::Pod> p;
    bool closed;
    {
      std::lock_guard<std::mutex> lock(pod->mu);
      p = pod->pod;
      closed = pod->closed_by_context;
    }
    if (p && pod->ctx->on_loop_thread()) {
      // Destroying from a library callback would block the loop it waits on: refuse (leak).
      pod->ctx->log().critical("lifehook_pod_destroy called from a library callback; ignored (the pod is leaked)");
      return;
    }
    if (!closed) pod->ctx->remove_closer(pod);
    if (p) p->shutdown();
    p.reset();
    {
      std::lock_guard<std::mutex> lock(pod->mu);
      pod->pod.reset();
    }
  } catch (...) {  // nothing crosses the ABI
  }
  delete pod;
}

}  // extern "C"
