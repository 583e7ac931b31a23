// lifehook_get_api: one symbol that gives a dlopen host every function, in a table that
// only ever grows at the end (struct_size tells the host how much of it exists).
#include "lifehook/lifehook.h"

extern "C" const struct lifehook_api* lifehook_get_api(uint32_t abi_major) {
  static const lifehook_api table = {
      sizeof(lifehook_api),
      (LIFEHOOK_ABI_MAJOR << 16) | LIFEHOOK_ABI_MINOR,
      lifehook_abi_version,
      lifehook_version,
      lifehook_status_name,
      lifehook_ctx_new,
      lifehook_ctx_free,
      lifehook_ctx_set_logger,
      lifehook_run,
      lifehook_submit,
      lifehook_cancel,
      lifehook_free,
      lifehook_pod_create,
      lifehook_pod_start,
      lifehook_pod_terminate,
      lifehook_pod_wait,
      lifehook_pod_status,
      lifehook_pod_watch,
      lifehook_pod_container_exited,
      lifehook_pod_destroy,
      lifehook_probe_start,
      lifehook_probe_state,
      lifehook_probe_stop,
      lifehook_pod_validate,
      lifehook_pod_set_condition,
      lifehook_pod_adopt,
      lifehook_pod_update,
  };
  return abi_major == LIFEHOOK_ABI_MAJOR ? &table : nullptr;
}
