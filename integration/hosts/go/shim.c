// C side of the Go host (see shim.h).
#include "shim.h"

#include <dlfcn.h>
#include <stddef.h>

#include "_cgo_export.h"

static void* library;
static const struct lifehook_api* api;

int shim_load(const char* soname, char** error) {
  library = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    *error = dlerror();
    return -1;
  }
  const struct lifehook_api* (*get_api)(uint32_t);
  *(void**)(&get_api) = dlsym(library, "lifehook_get_api");
  if (!get_api) {
    *error = dlerror();
    return -1;
  }
  api = get_api(LIFEHOOK_ABI_MAJOR);
  if (!api) {
    *error = "lifehook_get_api(1) returned NULL";
    return -1;
  }
  if (api->struct_size < sizeof(struct lifehook_api)) {
    *error = "the library's table is older than this host's header";
    return -1;
  }
  return 0;
}

int shim_unload(void) { return dlclose(library); }
uint32_t shim_abi_version(void) { return api->abi_version_fn(); }
uint32_t shim_struct_size(void) { return api->struct_size; }
const char* shim_version(void) { return api->version(); }
const char* shim_status_name(int status) { return api->status_name(status); }
int shim_ctx_new(const char* options, lifehook_ctx** out, char** error) { return api->ctx_new(options, out, error); }
void shim_ctx_free(lifehook_ctx* ctx) { api->ctx_free(ctx); }
int shim_run(lifehook_ctx* ctx, const char* request, char** result, char** error) {
  return api->run(ctx, request, result, error);
}
void shim_free(void* p) { api->free_fn(p); }

// Called on a library thread (a thread the Go runtime did not create): cgo attaches it for the call.
static void done_trampoline(void* user, uint64_t op, const char* result_json) {
  goDone((uintptr_t)user, op, (char*)result_json);
}

int shim_submit(lifehook_ctx* ctx, const char* request, uintptr_t handle, uint64_t* op, char** error) {
  return api->submit(ctx, request, done_trampoline, (void*)handle, op, error);
}

static void event_trampoline(void* user, const char* event_json) { goEvent((uintptr_t)user, (char*)event_json); }

int shim_pod_create(lifehook_ctx* ctx, const char* pod, const char* options, lifehook_pod** out, char** error) {
  return api->pod_create(ctx, pod, options, NULL, out, error);
}
int shim_pod_watch(lifehook_pod* pod, uintptr_t handle) { return api->pod_watch(pod, event_trampoline, (void*)handle); }
int shim_pod_start(lifehook_pod* pod) { return api->pod_start(pod); }
int shim_pod_wait(lifehook_pod* pod, int64_t timeout_ms) { return api->pod_wait(pod, timeout_ms); }
int shim_pod_status(lifehook_pod* pod, char** status) { return api->pod_status(pod, status); }
void shim_pod_destroy(lifehook_pod* pod) { api->pod_destroy(pod); }
