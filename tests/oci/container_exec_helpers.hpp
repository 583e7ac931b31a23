// Running a command through spawn_in_container() and collecting what it printed and how it ended.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "plugin/os/container_exec.hpp"

namespace lifehook::testing {

struct ExecOutcome {
  std::string out;
  int exit_code = -1;  // >= 0 when it exited
  int signal = 0;      // > 0 when a signal ended it
  std::vector<std::string> warnings;
};

inline ExecOutcome exec_in_container(int pid, const std::string& bundle, const std::vector<std::string>& argv,
                                     const std::vector<std::string>& env = {}, const std::string& cwd = "") {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  ContainerExecSpec spec;
  spec.target_pid = pid;
  spec.bundle = bundle;
  spec.argv = argv;
  spec.env = env;
  spec.working_dir = cwd;
  spec.stdout_fd = fds[1];
  spec.stderr_fd = fds[1];
  ContainerSpawned s;
  try {
    s = spawn_in_container(spec);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(fds[1]);
  ExecOutcome r;
  r.warnings = s.warnings;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) r.out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(s.spawned.pid), &info, WEXITED | __WALL) < 0 && errno == EINTR) {
  }
  if (info.si_code == CLD_EXITED)
    r.exit_code = info.si_status;
  else
    r.signal = info.si_status;
  return r;
}

}  // namespace lifehook::testing
