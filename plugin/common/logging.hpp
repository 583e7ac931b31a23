// The library's own spdlog logger: never registered globally, never writes to the host's
// stdout/stderr; lines go to the host's lifehook_log_fn (or nowhere).
#pragma once

#include <memory>
#include <mutex>

#include "lifehook/lifehook.h"

namespace spdlog {
class logger;
}

namespace lifehook {

class HostLogSink;

class Logger {
 public:
  explicit Logger(int min_level);
  ~Logger();
  void set_callback(lifehook_log_fn fn, void* user, int min_level);
  spdlog::logger& get() { return *logger_; }

 private:
  std::shared_ptr<HostLogSink> sink_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace lifehook
