// libFuzzer target: the OCI state on the hook's stdin and the lifehook.io/* annotations it
// carries (integration/oci-hook/oci_input.cpp, annotations.cpp). A refusal is HookError (or an
// error recorded per annotation); anything else escaping is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "integration/oci-hook/annotations.hpp"
#include "integration/oci-hook/hook_error.hpp"
#include "integration/oci-hook/oci_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    ocihook::OciState state = ocihook::parse_state(text);
    ocihook::Annotations a = ocihook::parse_annotations(state.annotations);
    for (const auto& e : a.wait_for) (void)e.handler.dump();
  } catch (const ocihook::HookError&) {
  }
  return 0;
}
