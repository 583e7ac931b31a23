// What container exec needs to know about the target (the container's init process) that does not
// change while that process lives, resolved once and cached: which namespaces differ from ours
// and which cgroup files join it to the container's cgroups.
//
// Why a cache: resolving it costs the parent more than the rest of an exec (seven namespace files
// opened and compared, /proc/<pid>/cgroup and /proc/self/cgroup parsed, /proc/self/mountinfo read
// and searched for every hierarchy). Why it is safe: an entry is keyed by the pid AND the
// process's start time (/proc/<pid>/stat field 22), so a restarted container (new init, or a pid
// reused by another process) never gets the plan of the one before. The cgroup paths are those
// of the container at its first exec, as `runc exec` uses the paths recorded in its state.json
// when the container was created.
// The cgroup files are kept open (ten opens of cgroupfs files cost more than the namespaces and
// credentials together): the cache is small (kMaxTargetPlans, least recently used out) and drops
// the entries of exited processes whenever it resolves a new one, so it keeps only a few
// descriptors, of live containers, and none after clear_target_plans().
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fd.hpp"

namespace lifehook {

struct NsKind {
  const char* name;
  int flag;
};
// runc's order (libcontainer/configs NamespaceTypes): user first, so that the rest is joined
// with the capabilities the user namespace gives; then ipc, uts, net, pid, mnt, cgroup.
inline constexpr NsKind kContainerNamespaces[] = {
    {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},      {"net", CLONE_NEWNET},
    {"pid", CLONE_NEWPID},   {"mnt", CLONE_NEWNS},  {"cgroup", CLONE_NEWCGROUP}};

struct TargetPlan {
  int pid = -1;
  unsigned long long start_time = 0;  // clock ticks since boot, /proc/<pid>/stat field 22
  // CLONE_NEW* of the namespaces of the target that are not ours, in kContainerNamespaces order.
  std::vector<int> ns_flags;
  bool time_ns_differs = false;  // not joinable by a process that shares memory: a warning
  // The target is pid 1 of its pid namespace, which is not ours: it adopts every orphan there.
  bool pid_ns_init = false;
  // The cgroups of the target that we are not in (runc exec joins them all: the v2 one and, on a
  // hybrid host, each v1 hierarchy). See container_exec.cpp for why "tasks" and not cgroup.procs.
  std::string v2_dir;                  // the cgroup v2 directory; empty: none to join
  std::vector<UniqueFd> v1_tasks_fds;  // "<v1 cgroup dir>/tasks" of each hierarchy, opened O_WRONLY
  UniqueFd v2_dir_fd;                  // v2_dir opened O_DIRECTORY
};

inline constexpr size_t kMaxTargetPlans = 32;

// The start time of process pid (/proc/<pid>/stat field 22); nullopt when there is no such
// process or it is a zombie.
std::optional<unsigned long long> process_start_time(int pid);

// The plan for the process that has pid and started at start_time: cached, or resolved now
// (throws Error(LIFEHOOK_E_NOT_FOUND) when the process is gone, Error(LIFEHOOK_E_SYSTEM) when a
// cgroup of it is not mounted here).
std::shared_ptr<const TargetPlan> target_plan(int pid, unsigned long long start_time);

// Forgets every cached plan (tests; also done by clear_container_exec_cache()).
void clear_target_plans();

// How many resolutions target_plan() has done (not cache hits): tests prove reuse and invalidation.
unsigned long target_plan_resolutions();

// Small helpers shared with container_exec.cpp.
bool read_small_file(const char* path, std::string& out, int dirfd = AT_FDCWD);
std::vector<std::string> split(std::string_view s, char sep);

}  // namespace lifehook
