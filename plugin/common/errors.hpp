// Errors inside the C++ core. Every exception that reaches the C ABI is turned into a
// lifehook_status by plugin/api.cpp; nothing else crosses the boundary.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "lifehook/lifehook.h"

namespace lifehook {

class Error : public std::runtime_error {
 public:
  Error(lifehook_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  lifehook_status status() const noexcept { return status_; }

 private:
  lifehook_status status_;
};

// "<path>: <why> (got <value>)" — the path is a JSON path such as handler.httpGet.port.
[[noreturn]] void throw_invalid(std::string_view path, std::string_view why, std::string_view value = {});
// "<what>: <strerror(err)>"
[[noreturn]] void throw_system(std::string_view what, int err);
[[noreturn]] void throw_state(std::string_view what);

}  // namespace lifehook
