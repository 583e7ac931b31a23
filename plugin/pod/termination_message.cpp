#include "termination_message.hpp"

namespace lifehook::pod {

std::string last_log_lines(std::string_view log, size_t lines, size_t bytes) {
  if (log.size() > bytes) log = log.substr(log.size() - bytes);
  if (lines == 0) return {};
  // Walk back over `lines` line ends; a trailing newline ends the last line, it does not start one.
  size_t end = log.size();
  if (end > 0 && log[end - 1] == '\n') --end;
  size_t seen = 0;
  for (size_t i = end; i > 0; --i) {
    if (log[i - 1] != '\n') continue;
    if (++seen == lines) return std::string(log.substr(i));
  }
  return std::string(log);
}

std::string termination_message(TerminationMessagePolicy policy, int exit_code, const std::string& runtime_message,
                                const std::function<MessageFile()>& file,
                                const std::function<std::optional<std::string>()>& log_tail) {
  // "If a container cannot even be started, it certainly does not have logs": the caller does not
  // ask for a container that never ran (StartError).
  bool fallback = policy == TerminationMessagePolicy::FallbackToLogsOnError && exit_code != 0;
  std::string text;
  bool check_logs = fallback;
  MessageFile f = file();
  switch (f.state) {
    case MessageFile::State::Absent: break;
    case MessageFile::State::Read:
      text = f.text.size() > kMaxContainerTerminationMessageLength
                 ? f.text.substr(f.text.size() - kMaxContainerTerminationMessageLength)
                 : f.text;
      check_logs = fallback && text.empty();
      break;
    case MessageFile::State::Error:
      text = "Error on reading termination log " + f.path + ": " + f.text;
      check_logs = false;
      break;
  }
  if (check_logs)
    if (std::optional<std::string> log = log_tail()) text = last_log_lines(*log);
  if (text.empty()) return runtime_message;
  return runtime_message.empty() ? text : runtime_message + ": " + text;
}

}  // namespace lifehook::pod
