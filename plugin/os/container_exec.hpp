// Starting a process inside a running container, the way `runc exec` does, without runc:
// the new process joins the namespaces and cgroups of the container's init process and gets the
// user, groups, capabilities, no_new_privs, rlimits, seccomp filter, environment and working
// directory of the container's process spec (config.json of its OCI bundle).
//
// How (pitfalls X4, X6, X12, X13, K16):
//   parent  prepares everything: config.json parsed and its seccomp profile compiled to BPF
//           (cached per bundle, revalidated by the file's identity), the target's plan (cached
//           per pid + start time, container_exec_target.hpp: the namespaces that differ from ours,
//           its cgroup files kept open), a pidfd of the target, argv/envp/PATH candidates laid
//           out. Then clone3(CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP) of A straight into the
//           container's cgroup v2 (container_exec_clone.hpp; a plain clone where the kernel
//           cannot).
//   A       (single-threaded, own fs struct) writes "0" into the "tasks" file of each v1
//           hierarchy (no global lock, no RCU grace period: see container_exec.cpp), sets the OOM
//           score, then joins the namespaces: one setns(pidfd, all flags) on Linux 5.8+ (the
//           kernel applies them as runc's order would, user first), else one setns per
//           /proc/<pid>/ns file in runc's order: user, ipc, uts, net, pid, mnt, cgroup. A pid
//           namespace only applies to children, so A clones G with
//           CLONE_VM | CLONE_VFORK | CLONE_PARENT and exits once G has exec'd.
//   G       is in the container's pid namespace but is OUR child (CLONE_PARENT), so it is watched
//           and reaped through its pidfd like any other child: exact exit codes and signals, no
//           intermediate process, no zombie left to the container's init. G does what runc's
//           setns init does, in runc's order: setsid, umask, stdio, close fds, rlimits,
//           no_new_privs, LSM exec label, seccomp (early when it needs privilege), bounding set,
//           keep-caps + setgroups/setgid/setuid, chdir, capset + ambient, seccomp (late when
//           no_new_privs), execve along PATH.
// Between clone and exec only raw system calls on memory prepared before, as in spawn.cpp.
//
// The result is a Spawned {pid, pidfd} of G, like spawn_process(): a Child (child.hpp) watches
// it, and kills its process group (G leads a session) on timeout or cancel.
#pragma once

#include <string>
#include <vector>

#include "spawn.hpp"

namespace lifehook {

struct ContainerExecSpec {
  int target_pid = -1;            // the container's init process, as seen from the host
  std::string bundle;             // OCI bundle directory: config.json gives the process spec
  std::vector<std::string> argv;  // argv[0] without '/' is looked up along the container's PATH
  std::vector<std::string> env;   // "NAME=value" added to (and overriding) the container's env
  std::string working_dir;        // empty: process.cwd of config.json
  int stdin_fd = -1;              // -1: /dev/null
  int stdout_fd = -1;             // -1: /dev/null
  int stderr_fd = -1;             // -1: /dev/null
};

struct ContainerSpawned {
  Spawned spawned;
  std::vector<std::string> warnings;  // what could not be applied here (AppArmor off, ...)
};

// Throws Error(LIFEHOOK_E_INVALID) for a bad bundle (naming the config.json path),
// Error(LIFEHOOK_E_NOT_FOUND) when the target process is gone, SpawnError when the process could
// not be set up or exec'd (errno and the step that failed), Error(LIFEHOOK_E_SYSTEM) otherwise.
ContainerSpawned spawn_in_container(const ContainerExecSpec& spec);

// Drops the cached parse of config.json files and the cached target plans, closing their files
// (tests; the caches also revalidate: config.json by identity, mtime and size, plans by start time).
void clear_container_exec_cache();

}  // namespace lifehook
