// What may go into an HTTP/1.1 header line, checked before anything reaches curl (which would
// send "a\r\nX-Injected: 1" as two lines).
#pragma once

#include <cstddef>
#include <string_view>

namespace lifehook {

// RFC 7230 §3.2.6 token (a header field name): 1*tchar, as Go's httpguts.ValidHeaderFieldName.
inline bool is_http_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos)
      return false;
  }
  return true;
}

// A header field value: no control character but HTAB (no CR, LF, NUL), as Go's
// httpguts.ValidHeaderFieldValue; bytes >= 0x80 (obs-text) pass.
inline bool is_http_field_value(std::string_view s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  return true;
}

// Bounds on a request's httpHeaders: Go's http.DefaultMaxHeaderBytes (1 MiB) for all names and
// values together, and a count no real probe comes near.
inline constexpr size_t kMaxHttpHeaders = 1024;
inline constexpr size_t kMaxHttpHeaderBytes = size_t{1} << 20;

}  // namespace lifehook
