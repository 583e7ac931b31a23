// Where the hook's log lines go. Runtimes discard (crun) or only surface on failure (runc)
// a hook's stdout/stderr, so the log goes to syslog(3) — journald on systemd hosts — or, when
// the container names one with lifehook.io/log, to a file. Thread-safe: the library's log
// callback arrives from its event-loop threads.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

namespace ocihook {

enum class LogLevel { Debug, Info, Warning, Error };

class HookLog {
 public:
  HookLog();
  ~HookLog();
  HookLog(const HookLog&) = delete;
  HookLog& operator=(const HookLog&) = delete;

  // Prefix of every line: "<stage> <container id>".
  void set_subject(std::string stage, std::string container_id);
  // Switches to appending to `path`. Returns an empty string on success, else why it could not
  // (the log then stays on syslog). Refuses relative paths, symlinks and non-regular files because
  // the path comes from a container annotation while the hook runs as root.
  std::string use_file(const std::string& path);

  void write(LogLevel level, std::string_view message);
  void debug(std::string_view m) { write(LogLevel::Debug, m); }
  void info(std::string_view m) { write(LogLevel::Info, m); }
  void warn(std::string_view m) { write(LogLevel::Warning, m); }
  void error(std::string_view m) { write(LogLevel::Error, m); }

  // lifehook_log_fn adapter: `user` is the HookLog.
  static void from_library(void* user, int level, const char* message);

 private:
  std::mutex mu_;
  std::string subject_;
  int fd_ = -1;  // -1: syslog
  bool syslog_open_ = false;
};

}  // namespace ocihook
