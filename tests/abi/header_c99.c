/* The public header alone, as C99 with -Wall -Wextra -Werror -pedantic (see CMakeLists.txt). */
#include "lifehook/lifehook.h"
#include "lifehook/lifehook.h" /* include guard */

/* Use the types so that a broken declaration cannot hide behind "unused". */
const char* header_c99_check(const struct lifehook_api* api, lifehook_ctx* ctx, lifehook_pod* pod,
                             lifehook_driver* driver);
const char* header_c99_check(const struct lifehook_api* api, lifehook_ctx* ctx, lifehook_pod* pod,
                             lifehook_driver* driver) {
  lifehook_status s = LIFEHOOK_E_NOMEM;
  (void)ctx;
  (void)pod;
  (void)driver;
  return api ? api->status_name((int)s) : lifehook_status_name(LIFEHOOK_ABI_MAJOR);
}
