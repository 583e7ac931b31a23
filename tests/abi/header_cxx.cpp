// The public header alone, as C++20 with -Wall -Wextra -Werror -pedantic (see CMakeLists.txt).
#include "lifehook/lifehook.h"
#include "lifehook/lifehook.h"  // include guard

static_assert(LIFEHOOK_ABI_MAJOR == 1);
static_assert(sizeof(lifehook_status) == sizeof(int));

const char* header_cxx_check(const lifehook_api* api, lifehook_ctx* ctx, lifehook_pod* pod, lifehook_driver* driver);
const char* header_cxx_check(const lifehook_api* api, lifehook_ctx* ctx, lifehook_pod* pod, lifehook_driver* driver) {
  (void)ctx;
  (void)pod;
  (void)driver;
  // The functions have C linkage: their addresses fit the table's members.
  lifehook_api expected{};
  expected.run = &lifehook_run;
  expected.submit = &lifehook_submit;
  (void)expected;
  return api ? api->status_name(LIFEHOOK_E_STATE) : lifehook_status_name(LIFEHOOK_OK);
}
