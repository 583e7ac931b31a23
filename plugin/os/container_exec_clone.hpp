// clone3(CLONE_INTO_CGROUP) for a vfork-style child that runs a function on its own stack, as
// clone(3) does for clone(2). glibc has no such wrapper, and a C call of syscall(SYS_clone3) cannot
// be used with CLONE_VM: the child would return through the parent's stack frames.
//
// Why container exec (and a host exec into its own cgroup, spawn.cpp) wants it: a process born into the container's
// cgroup v2 does not have to be migrated there. A write of its pid into cgroup.procs takes the global
// cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period whenever nobody has migrated a process in
// the last few milliseconds: 10-15 ms of a single exec on a quiet host, where the exec itself takes under one. Forking
// into a cgroup only takes that lock for reading.
#pragma once

#include <cerrno>

namespace lifehook {

// Starts fn(arg) in a child created with clone3(flags | CLONE_INTO_CGROUP) into the cgroup v2
// directory cgroup_fd, on the stack [stack, stack + stack_size) (16-byte aligned top), with exit
// signal 0; the child exits with fn's return value. With `pidfd`, CLONE_PIDFD too: the child's
// pidfd is stored there before the child runs. Returns the child's pid, or -errno:
// -ENOSYS where this architecture has no trampoline here or the kernel has no clone3, -E2BIG or
// -EINVAL where the kernel has no CLONE_INTO_CGROUP (before 5.7); other errors are the cgroup's
// (EBUSY, EOPNOTSUPP, EACCES: the same answers a write into its cgroup.procs would give).
long clone_into_cgroup(int (*fn)(void*), void* arg, unsigned long flags, int cgroup_fd, void* stack,
                       unsigned long stack_size, int* pidfd = nullptr);

// True when clone_into_cgroup() returned an error that means "not supported here".
inline bool clone_into_cgroup_unsupported(long result) {
  return result == -ENOSYS || result == -E2BIG || result == -EINVAL;
}

}  // namespace lifehook
