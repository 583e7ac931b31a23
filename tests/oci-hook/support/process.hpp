// Runs a program for a test: stdin from a string, stdout/stderr captured in memory files (so a
// detached container that inherits them cannot keep the test waiting for EOF), a time limit
// after which the program's process group is killed.
#pragma once

#include <string>
#include <vector>

namespace ocihook_test {

struct ProcResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  double seconds = 0;
  std::string out, err;
};

// argv[0] is executed as given (absolute path or found in PATH); `env` replaces the environment.
ProcResult run_process(const std::string& path, const std::vector<std::string>& argv, const std::string& stdin_text,
                       const std::vector<std::string>& env, double timeout_s);

// The environment for programs the tests start: a standard PATH plus the sanitizer settings of
// the test itself, so a sanitized hook reports the same way.
std::vector<std::string> test_env();

// Pids of live processes whose command line contains `needle` (NULs read as spaces).
std::vector<int> processes_with_cmdline(const std::string& needle);

}  // namespace ocihook_test
