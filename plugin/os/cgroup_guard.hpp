// The cgroup guard: whatever way the host process ends — SIGKILL, a crash, exit() without
// lifehook_ctx_free — no process tree lifehook started outlives it.
//
// Every tree runs in its own cgroup "lifehook-<host pid>-<n>-..." (cgroup.hpp). The first context
// that can create cgroups starts one small guard process: a clone of the host (no exec, exit
// signal 0, so the host's waitpid(-1) never sees it) that leaves the host's session, ignores every
// signal it can, keeps no descriptor but a pidfd of the host and the cgroup directory, and sleeps
// in poll() on that pidfd. When the host is gone it kills (cgroup.kill) and removes every cgroup of
// the host's, then exits. Between clone and _exit it makes only raw system calls on memory
// prepared before the clone (the host may be multithreaded: no malloc, no locks). When the last
// context is freed the guard is SIGKILLed and reaped: nothing of ours is left to guard, and a host
// that dlclose()s the library keeps no process of ours.
//
// Without cgroups (not root, no delegation) there is no guard; see docs/DESIGN.md for what such a
// host gets.
#pragma once

#include <string>

namespace lifehook {

// Starts the process-wide guard for the cgroups named "lifehook-<getpid()>-*" in `base`, once.
void start_cgroup_guard(const std::string& base);
// Stops it (SIGKILL, reap); a later start_cgroup_guard starts a new one.
void stop_cgroup_guard();
// The guard's pid, or -1 (tests).
int cgroup_guard_pid();

}  // namespace lifehook
