#include "shim.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "_cgo_export.h"

static void on_done(void* user, uint64_t op, const char* result_json) {
  lifehookGoDone((uintptr_t)user, op, (char*)result_json);
}

static void on_log(void* user, int level, const char* message) {
  lifehookGoLog((uintptr_t)user, level, (char*)message);
}

static void on_event(void* user, const char* event_json) { lifehookGoEvent((uintptr_t)user, (char*)event_json); }

static void on_probe(void* user, lifehook_probe* probe, const char* state_json) {
  (void)probe; /* the Go Probe behind the handle knows its own */
  lifehookGoProbe((uintptr_t)user, (char*)state_json);
}

static int on_start(void* user, const char* pod_uid, const char* container_json, char** info_json, char** error) {
  return lifehookGoDriverStart((uintptr_t)user, (char*)pod_uid, (char*)container_json, info_json, error);
}

static int on_signal(void* user, const char* pod_uid, const char* container_name, int signo) {
  return lifehookGoDriverSignal((uintptr_t)user, (char*)pod_uid, (char*)container_name, signo);
}

static int on_remove(void* user, const char* pod_uid, const char* container_name) {
  return lifehookGoDriverRemove((uintptr_t)user, (char*)pod_uid, (char*)container_name);
}

int lifehook_go_submit(lifehook_ctx* ctx, const char* request, uintptr_t handle, uint64_t* op, char** error) {
  return lifehook_submit(ctx, request, on_done, (void*)handle, op, error);
}

int lifehook_go_set_logger(lifehook_ctx* ctx, uintptr_t handle, int min_level) {
  return lifehook_ctx_set_logger(ctx, handle ? on_log : NULL, (void*)handle, min_level);
}

int lifehook_go_pod_watch(lifehook_pod* pod, uintptr_t handle) {
  return lifehook_pod_watch(pod, on_event, (void*)handle);
}

lifehook_driver* lifehook_go_driver_new(uintptr_t handle) {
  lifehook_driver* d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->struct_size = sizeof *d;
  d->user = (void*)handle;
  d->start = on_start;
  d->signal = on_signal;
  d->remove = on_remove;
  return d;
}

char* lifehook_go_strdup(const char* s) { return strdup(s); }

/* The library's table when it has the 1.1 probe functions, NULL for a 1.0 library. */
static const struct lifehook_api* probe_api(void) {
  const struct lifehook_api* api = lifehook_get_api(1);
  if (!api || api->struct_size < offsetof(struct lifehook_api, probe_stop) + sizeof api->probe_stop) return NULL;
  return api;
}

int lifehook_go_probe_start(lifehook_ctx* ctx, const char* probe, const char* target, uintptr_t handle,
                            lifehook_probe** out, char** error) {
  const struct lifehook_api* api = probe_api();
  if (!api) return LIFEHOOK_E_UNSUPPORTED;
  return api->probe_start(ctx, probe, target, handle ? on_probe : NULL, (void*)handle, out, error);
}

int lifehook_go_probe_state(lifehook_probe* probe, char** state_json) {
  const struct lifehook_api* api = probe_api();
  return api ? api->probe_state(probe, state_json) : LIFEHOOK_E_UNSUPPORTED;
}

void lifehook_go_probe_stop(lifehook_probe* probe) {
  const struct lifehook_api* api = probe_api();
  if (api) api->probe_stop(probe);
}

/* The library's table when it has `member` (a function added after 1.0), NULL otherwise. */
#define API_WITH(member)                                \
  const struct lifehook_api* api = lifehook_get_api(1); \
  if (api && api->struct_size < offsetof(struct lifehook_api, member) + sizeof api->member) api = NULL

int lifehook_go_pod_validate(lifehook_ctx* ctx, const char* pod, const char* options, const lifehook_driver* driver,
                             char** report) {
  API_WITH(pod_validate);
  if (!api) return LIFEHOOK_E_UNSUPPORTED;
  return api->pod_validate(ctx, pod, options, driver, report);
}

int lifehook_go_pod_set_condition(lifehook_pod* pod, const char* condition) {
  API_WITH(pod_set_condition);
  if (!api) return LIFEHOOK_E_UNSUPPORTED;
  return api->pod_set_condition(pod, condition);
}
