// The wait status a pidfd keeps after its process was reaped by someone else (PIDFD_GET_INFO with
// PIDFD_INFO_EXIT, Linux 6.15): how we learn an exit that a host's waitpid(-1) or SIGCHLD=SIG_IGN
// auto-reap took from us, and a container init's own status that `runc run` folds into 128+n.
#pragma once

#include <optional>

namespace lifehook {

// The raw wait status (decode with WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG) once the process
// has exited; nullopt while it runs, when the kernel is older than 6.15, or for a bad descriptor.
std::optional<int> pidfd_wait_status(int pidfd);

}  // namespace lifehook
