#include "hook_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace ocihook {

namespace {

const char* level_word(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warning: return "warning";
    default: return "error";
  }
}

int syslog_priority(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return LOG_DEBUG;
    case LogLevel::Info: return LOG_INFO;
    case LogLevel::Warning: return LOG_WARNING;
    default: return LOG_ERR;
  }
}

std::string utc_timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// One line per message: embedded newlines (exec output, multi-line errors) would split a record.
std::string single_line(std::string_view m) {
  std::string s(m);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

void write_all(int fd, const std::string& s) {
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk must not fail the hook
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

HookLog::HookLog() = default;

HookLog::~HookLog() {
  if (fd_ >= 0) ::close(fd_);
  if (syslog_open_) closelog();
}

void HookLog::set_subject(std::string stage, std::string container_id) {
  std::lock_guard lock(mu_);
  subject_ = stage + " " + (container_id.empty() ? std::string("?") : container_id);
}

std::string HookLog::use_file(const std::string& path) {
  if (path.empty() || path[0] != '/') return "must be an absolute path";
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0640);
  if (fd < 0) return std::string("cannot open: ") + std::strerror(errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return "is not a regular file";
  }
  std::lock_guard lock(mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return {};
}

void HookLog::write(LogLevel level, std::string_view message) {
  std::lock_guard lock(mu_);
  std::string text = single_line(message);
  if (fd_ >= 0) {
    std::string line = utc_timestamp() + " lifehook-oci-hook[" + std::to_string(::getpid()) + "] " + level_word(level) +
                       " " + subject_ + ": " + text + "\n";
    write_all(fd_, line);
    return;
  }
  if (!syslog_open_) {
    openlog("lifehook-oci-hook", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    syslog_open_ = true;
  }
  syslog(syslog_priority(level), "%s: %s", subject_.c_str(), text.c_str());
}

void HookLog::from_library(void* user, int level, const char* message) {
  auto* log = static_cast<HookLog*>(user);
  LogLevel l = level <= 1   ? LogLevel::Debug
               : level == 2 ? LogLevel::Info
               : level == 3 ? LogLevel::Warning
                            : LogLevel::Error;
  log->write(l, std::string("lifehook: ") + (message ? message : ""));
}

}  // namespace ocihook
