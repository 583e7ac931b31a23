// Shared glue of the C ABI: exceptions become status codes, strings cross as malloc'd copies.
#pragma once

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "common/errors.hpp"
#include "lifehook/lifehook.h"

namespace lifehook {

// A malloc'd copy (freed by lifehook_free / free); NULL on allocation failure.
inline char* dup_c_string(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

inline void set_error(char** error, const char* message) {
  if (error) *error = dup_c_string(message);
}

// Runs f, mapping every exception to a status code (and *error). Nothing escapes.
template <class F>
int guarded(char** error, F&& f) noexcept {
  if (error) *error = nullptr;
  try {
    f();
    return LIFEHOOK_OK;
  } catch (const Error& e) {
    set_error(error, e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    set_error(error, "out of memory");
    return LIFEHOOK_E_NOMEM;
  } catch (const std::exception& e) {
    set_error(error, e.what());
    return LIFEHOOK_E_SYSTEM;
  } catch (...) {
    set_error(error, "unknown internal error");
    return LIFEHOOK_E_SYSTEM;
  }
}

#define LIFEHOOK_REQUIRE_ARG(cond, name)                                                 \
  do {                                                                                   \
    if (!(cond)) throw ::lifehook::Error(LIFEHOOK_E_INVALID, name ": must not be NULL"); \
  } while (0)

}  // namespace lifehook
