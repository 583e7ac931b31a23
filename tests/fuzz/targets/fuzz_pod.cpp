// libFuzzer target: a Pod as lifehook_pod_create reads it (plugin/pod/spec.cpp). A refusal is
// lifehook::Error; anything else escaping is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plugin/common/errors.hpp"
#include "plugin/pod/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)lifehook::pod::parse_pod(text);
  } catch (const lifehook::Error&) {
  }
  return 0;
}
