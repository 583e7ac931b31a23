// The oci driver's side of lifehook-monitor (monitor/lifehook-monitor.c): where the program is,
// the command line that runs a container under it, and the exit record it leaves behind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lifehook::drivers {

// The monitor program: `configured` (options.monitor) when given, else the installed one
// (LIBDIR/lifehook/lifehook-monitor), else the one of this build tree. Throws
// Error(LIFEHOOK_E_INVALID) naming options.monitor for a configured path that is not an
// executable file, Error(LIFEHOOK_E_SYSTEM) naming where it looked when there is none.
std::string find_monitor(const std::string& configured);

// `monitor EXIT_FILE -- runtime_argv...`
std::vector<std::string> monitor_argv(const std::string& monitor, const std::string& exit_file,
                                      const std::vector<std::string>& runtime_argv);

// How the runtime's `run` ended, as the monitor recorded it.
struct ExitRecord {
  int exit_code = -1;       // runc's: 128 + n for a container killed by signal n
  int signal = 0;           // the runtime itself was killed by this signal
  int64_t finished_ms = 0;  // wall clock, ms since the epoch
};

// The record at `path`; nullopt when there is none (yet) or it is not a monitor's record.
std::optional<ExitRecord> read_exit_record(const std::string& path);

}  // namespace lifehook::drivers
