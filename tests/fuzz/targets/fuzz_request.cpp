// libFuzzer target: a handler request as lifehook_submit reads it (handlers/model.cpp). A
// refusal is lifehook::Error; anything else escaping (another exception, a sanitizer report,
// a stack overflow) is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "handlers/model.hpp"
#include "plugin/common/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    lifehook::Request r = lifehook::parse_request(text);
    (void)lifehook::describe(r.handler, r.target);
  } catch (const lifehook::Error&) {
  }
  return 0;
}
