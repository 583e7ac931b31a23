/* C side of the Go host: loads liblifehook.so.1 with dlopen (the Go binary has no link-time
   dependency on it) and calls through the lifehook_get_api(1) table. Callbacks from the library's
   threads come back into Go through the exported goDone/goEvent functions. */
#ifndef LIFEHOOK_GO_SHIM_H
#define LIFEHOOK_GO_SHIM_H
#include <lifehook/lifehook.h>
#include <stdint.h>

int shim_load(const char* soname, char** error); /* 0 on success, else *error is a static message */
uint32_t shim_abi_version(void);
uint32_t shim_struct_size(void);
const char* shim_version(void);
const char* shim_status_name(int status);
int shim_ctx_new(const char* options, lifehook_ctx** out, char** error);
void shim_ctx_free(lifehook_ctx* ctx);
int shim_run(lifehook_ctx* ctx, const char* request, char** result, char** error);
int shim_submit(lifehook_ctx* ctx, const char* request, uintptr_t handle, uint64_t* op, char** error);
void shim_free(void* p);
int shim_pod_create(lifehook_ctx* ctx, const char* pod, const char* options, lifehook_pod** out, char** error);
int shim_pod_watch(lifehook_pod* pod, uintptr_t handle);
int shim_pod_start(lifehook_pod* pod);
int shim_pod_wait(lifehook_pod* pod, int64_t timeout_ms);
int shim_pod_status(lifehook_pod* pod, char** status);
void shim_pod_destroy(lifehook_pod* pod);
int shim_unload(void);
#endif
