// Thin RAII over the public C ABI — the CLI's only door into the library (no internal headers:
// the CLI is the reference "custom agent" and must work with the installed lifehook.h alone).
#pragma once

#include <lifehook/lifehook.h>

#include <cstdio>
#include <memory>
#include <string>

namespace lifehook_cli {

// A string returned by the library, released with lifehook_free.
class LibString {
 public:
  LibString() = default;
  ~LibString() { lifehook_free(p_); }
  LibString(const LibString&) = delete;
  LibString& operator=(const LibString&) = delete;
  char** out() { return &p_; }
  std::string str() const { return p_ ? std::string(p_) : std::string(); }
  bool empty() const { return !p_; }

 private:
  char* p_ = nullptr;
};

struct CtxDeleter {
  void operator()(lifehook_ctx* c) const { lifehook_ctx_free(c); }
};
struct PodDeleter {
  void operator()(lifehook_pod* p) const { lifehook_pod_destroy(p); }
};
using CtxPtr = std::unique_ptr<lifehook_ctx, CtxDeleter>;
using PodPtr = std::unique_ptr<lifehook_pod, PodDeleter>;

// "LIFEHOOK_E_INVALID: <message>" or just the status name when the library gave no text.
inline std::string describe_failure(int rc, const LibString& error) {
  std::string s = lifehook_status_name(rc);
  if (!error.empty()) s += ": " + error.str();
  return s;
}

// Verbosity from -v flags → the library's minimum log level (3 = warning by default).
inline int log_level_for_verbosity(int verbosity) { return verbosity >= 3 ? 0 : 3 - verbosity; }

// The library's log lines go to our stderr; called from library threads (one fprintf per line
// keeps lines whole).
inline void log_to_stderr(void*, int level, const char* message) {
  static const char* const names[] = {"trace", "debug", "info", "warning", "error", "critical", "off"};
  const char* name = (level >= 0 && level <= 6) ? names[level] : "log";
  std::fprintf(stderr, "lifehook [%s] %s\n", name, message);
}

// Creates a context with logging routed to stderr; on failure prints the reason and returns null.
inline CtxPtr make_context(int verbosity) {
  lifehook_ctx* ctx = nullptr;
  LibString error;
  int level = log_level_for_verbosity(verbosity);
  std::string options = "{\"logLevel\": " + std::to_string(level) + "}";
  int rc = lifehook_ctx_new(options.c_str(), &ctx, error.out());
  if (rc != LIFEHOOK_OK) {
    std::fprintf(stderr, "lifehook: cannot create a context: %s\n", describe_failure(rc, error).c_str());
    return nullptr;
  }
  lifehook_ctx_set_logger(ctx, log_to_stderr, nullptr, level);
  return CtxPtr(ctx);
}

// Exit codes of every command.
enum ExitCode { kExitOk = 0, kExitFailed = 1, kExitBadInput = 2 };

}  // namespace lifehook_cli
