// A container's termination message, as the kubelet composes it when a container has exited
// (pkg/kubelet/kuberuntime/kuberuntime_container.go: convertToKubeContainerStatus,
// getTerminationMessage, readLastStringFromContainerLogs; the limits are
// pkg/kubelet/container/runtime.go's):
// - the file at terminationMessagePath, its last 4096 bytes (tail.ReadAtMost);
// - with terminationMessagePolicy FallbackToLogsOnError, a container that failed (exit code not 0)
//   and left no file or an empty one gets the end of its output instead: the last 80 lines, at
//   most the last 2048 bytes;
// - a file that cannot be read gives "Error on reading termination log <path>: <why>";
// - the runtime's own message, if any, comes first, joined with ": ".
// The status keeps at most 12 KiB of messages per pod, split evenly over its containers
// (status manager's normalizeStatus, status.cpp). Where the file is depends on the driver
// (Driver::termination_message_file): a host path for the process driver, a file the oci driver
// bind-mounts into the container.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "spec.hpp"

namespace lifehook::pod {

inline constexpr size_t kMaxPodTerminationMessageLogLength = 12 * 1024;
inline constexpr size_t kMaxContainerTerminationMessageLength = 4 * 1024;
inline constexpr size_t kMaxContainerTerminationMessageLogLength = 2 * 1024;
inline constexpr size_t kMaxContainerTerminationMessageLogLines = 80;

// The termination message file of an exited container instance, as a driver read it.
struct MessageFile {
  enum class State { Absent, Read, Error };
  State state = State::Absent;  // Absent: no such file (or none written by this instance)
  std::string text;             // Read: its last kMaxContainerTerminationMessageLength bytes; Error: why
  std::string path;             // where it was looked for (for the error message)
};

// The last `lines` lines of `log`, and of those at most the last `bytes` bytes (the kubelet's
// TailLines into a circular buffer). A final line without its newline counts as a line.
std::string last_log_lines(std::string_view log, size_t lines = kMaxContainerTerminationMessageLogLines,
                           size_t bytes = kMaxContainerTerminationMessageLogLength);

// The message of a container that exited with `exit_code`: `runtime_message` (may be empty), then
// what the file or (FallbackToLogsOnError) the log says. `file` and `log_tail` are asked only when
// needed; log_tail returns the end of the output (nullopt: the driver keeps none).
std::string termination_message(TerminationMessagePolicy policy, int exit_code, const std::string& runtime_message,
                                const std::function<MessageFile()>& file,
                                const std::function<std::optional<std::string>()>& log_tail);

}  // namespace lifehook::pod
