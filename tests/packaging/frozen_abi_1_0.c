/* What ABI 1.0 promised, frozen at compile time: status code values, the order and position of every
   member of the size-prefixed tables, the major version. If this file stops compiling, an existing
   part of the ABI changed — which breaks every host built before (docs/ABI.md). Additions do not break it. */
#include <lifehook/lifehook.h>
#include <stddef.h>
#include <stdio.h>

#define FROZEN(cond) _Static_assert(cond, "ABI 1.0 changed: " #cond " (docs/ABI.md)")

FROZEN(LIFEHOOK_ABI_MAJOR == 1);
FROZEN(LIFEHOOK_ABI_MINOR >= 0);

/* Status codes are never renumbered. */
FROZEN(LIFEHOOK_OK == 0);
FROZEN(LIFEHOOK_E_INVALID == 1);
FROZEN(LIFEHOOK_E_STATE == 2);
FROZEN(LIFEHOOK_E_NOT_FOUND == 3);
FROZEN(LIFEHOOK_E_UNSUPPORTED == 4);
FROZEN(LIFEHOOK_E_SYSTEM == 5);
FROZEN(LIFEHOOK_E_NOMEM == 6);
FROZEN(sizeof(lifehook_status) == sizeof(int));

/* struct lifehook_api: two uint32_t, then one function pointer per slot, in this order, forever. */
#define API_SLOT(member, index) \
  FROZEN(offsetof(struct lifehook_api, member) == 2 * sizeof(uint32_t) + (index) * sizeof(void (*)(void)))
FROZEN(offsetof(struct lifehook_api, struct_size) == 0);
FROZEN(offsetof(struct lifehook_api, abi_version) == sizeof(uint32_t));
API_SLOT(abi_version_fn, 0);
API_SLOT(version, 1);
API_SLOT(status_name, 2);
API_SLOT(ctx_new, 3);
API_SLOT(ctx_free, 4);
API_SLOT(ctx_set_logger, 5);
API_SLOT(run, 6);
API_SLOT(submit, 7);
API_SLOT(cancel, 8);
API_SLOT(free_fn, 9);
API_SLOT(pod_create, 10);
API_SLOT(pod_start, 11);
API_SLOT(pod_terminate, 12);
API_SLOT(pod_wait, 13);
API_SLOT(pod_status, 14);
API_SLOT(pod_watch, 15);
API_SLOT(pod_container_exited, 16);
API_SLOT(pod_destroy, 17);
FROZEN(sizeof(struct lifehook_api) >= 2 * sizeof(uint32_t) + 18 * sizeof(void (*)(void)));

/* lifehook_driver (filled by hosts): struct_size first, then user data and three callbacks. */
FROZEN(offsetof(lifehook_driver, struct_size) == 0);
FROZEN(offsetof(lifehook_driver, user) == sizeof(void*));
FROZEN(offsetof(lifehook_driver, start) == 2 * sizeof(void*));
FROZEN(offsetof(lifehook_driver, signal) == 3 * sizeof(void*));
FROZEN(offsetof(lifehook_driver, remove) == 4 * sizeof(void*));
FROZEN(sizeof(lifehook_driver) >= 5 * sizeof(void*));

int main(void) {
  printf("frozen ABI 1.0: status codes, lifehook_api and lifehook_driver layouts hold (header ABI %d.%d)\n",
         LIFEHOOK_ABI_MAJOR, LIFEHOOK_ABI_MINOR);
  return 0;
}
