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
#endif
