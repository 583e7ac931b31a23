#include "errors.hpp"

#include <cstring>

namespace lifehook {

void throw_invalid(std::string_view path, std::string_view why, std::string_view value) {
  std::string msg{path};
  msg += ": ";
  msg += why;
  if (!value.empty()) {
    msg += " (got ";
    msg += value;
    msg += ")";
  }
  throw Error(LIFEHOOK_E_INVALID, msg);
}

void throw_system(std::string_view what, int err) {
  char buf[256];
  const char* text = strerror_r(err, buf, sizeof buf);  // GNU variant returns the text
  throw Error(LIFEHOOK_E_SYSTEM, std::string(what) + ": " + text);
}

void throw_state(std::string_view what) { throw Error(LIFEHOOK_E_STATE, std::string(what)); }

}  // namespace lifehook
