// PLACEHOLDER — replaced by the pod lifecycle engine.
#include "api_glue.hpp"

using namespace lifehook;
extern "C" {
int lifehook_pod_create(lifehook_ctx*, const char*, const char*, const lifehook_driver*, lifehook_pod** out,
                        char** error) {
  if (out) *out = nullptr;
  return guarded(error, [] { throw_unsupported("pods: not implemented yet"); });
}
int lifehook_pod_start(lifehook_pod*) { return LIFEHOOK_E_UNSUPPORTED; }
int lifehook_pod_terminate(lifehook_pod*, int64_t) { return LIFEHOOK_E_UNSUPPORTED; }
int lifehook_pod_wait(lifehook_pod*, int64_t) { return LIFEHOOK_E_UNSUPPORTED; }
int lifehook_pod_status(lifehook_pod*, char**) { return LIFEHOOK_E_UNSUPPORTED; }
int lifehook_pod_watch(lifehook_pod*, lifehook_event_fn, void*) { return LIFEHOOK_E_UNSUPPORTED; }
int lifehook_pod_container_exited(lifehook_pod*, const char*, int, int) { return LIFEHOOK_E_UNSUPPORTED; }
void lifehook_pod_destroy(lifehook_pod*) {}
}
