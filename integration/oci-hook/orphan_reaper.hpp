// The hook is a child subreaper: processes orphaned below it are reparented to it, not to the
// runtime. That matters for the nsenter fallback: nsenter's child lives in the container's pid
// namespace, and if nsenter is killed first, that child's zombie would go to runc — which, a
// subreaper itself, does not reap while it waits for the container's init, and the init cannot
// finish exiting (zap_pid_ns_processes) until every process of its namespace is reaped: runc
// hangs. So after the library is gone the hook kills and reaps whatever it adopted.
#pragma once

#include <chrono>

namespace ocihook {

// prctl(PR_SET_CHILD_SUBREAPER). Best effort: without it the hook still works.
void become_subreaper();

// Call only once no library context exists (the library waits for its own children; a wait for
// any child would steal their status). SIGKILLs every remaining child of this process and reaps
// all of them, for at most `limit`. Returns how many live children had to be killed.
int reap_adopted_children(std::chrono::milliseconds limit);

}  // namespace ocihook
