/* C trampolines between liblifehook and Go: the library calls these with a runtime/cgo.Handle value
   as its `user` pointer; they call the exported Go functions of callbacks.go. No Go pointer is ever
   given to or kept by the library. */
#ifndef LIFEHOOK_GO_SHIM_H
#define LIFEHOOK_GO_SHIM_H
#include <lifehook/lifehook.h>
#include <stdint.h>

int lifehook_go_submit(lifehook_ctx* ctx, const char* request, uintptr_t handle, uint64_t* op, char** error);
int lifehook_go_set_logger(lifehook_ctx* ctx, uintptr_t handle, int min_level);
int lifehook_go_pod_watch(lifehook_pod* pod, uintptr_t handle);
/* A malloc'd lifehook_driver whose callbacks call the Go Driver behind handle; freed by the caller. */
lifehook_driver* lifehook_go_driver_new(uintptr_t handle);
char* lifehook_go_strdup(const char* s);
/* Standalone probes through lifehook_get_api(1), so that a 1.0 library still loads (the 1.1 symbols are
   not linked): LIFEHOOK_E_UNSUPPORTED when the loaded library's table has no probe functions.
   handle 0: no callback (the host polls the state). */
int lifehook_go_probe_start(lifehook_ctx* ctx, const char* probe, const char* target, uintptr_t handle,
                            lifehook_probe** out, char** error);
int lifehook_go_probe_state(lifehook_probe* probe, char** state_json);
void lifehook_go_probe_stop(lifehook_probe* probe);
/* lifehook_pod_validate and lifehook_pod_set_condition (ABI 1.1) through lifehook_get_api(1), as the
   probes: LIFEHOOK_E_UNSUPPORTED from a library whose table lacks them. */
int lifehook_go_pod_validate(lifehook_ctx* ctx, const char* pod, const char* options, const lifehook_driver* driver,
                             char** report);
int lifehook_go_pod_set_condition(lifehook_pod* pod, const char* condition);
#endif
