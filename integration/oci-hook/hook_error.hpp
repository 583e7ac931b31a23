// The one error type of the hook: its message is the single stderr line the runtime shows the
// operator, so it says which handler or input failed and why.
#pragma once

#include <stdexcept>
#include <string>

namespace ocihook {

class HookError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace ocihook

namespace ocihook {

// nlohmann's what() starts with "[json.exception.parse_error.101] "; operators need only the rest.
inline std::string parse_error_text(const std::exception& e) {
  std::string s = e.what();
  if (!s.empty() && s[0] == '[') {
    auto close = s.find("] ");
    if (close != std::string::npos) s = s.substr(close + 2);
  }
  return s;
}

}  // namespace ocihook
