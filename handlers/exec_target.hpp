// Where an exec handler's process is created, by target.execMode (issue 5):
//   "host"       spawn_process() as the exec handler prepared it (a per-exec cgroup seals the tree);
//   "container"  inside the container of target.pid, with the process spec of target.bundle
//                (spawn_in_container: runc-exec parity, no runtime involved) — the default when
//                both target.pid and target.bundle are known;
//   "runtime"    `<runtime> exec <id> ...`, the container found by its init pid in the runtime's
//                state (runc's layout: <root>/<id>/state.json).
// In the container and runtime modes the process lives in the container's cgroups, so the
// per-exec cgroup is released and the Child kills by process group and descendants instead.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../plugin/os/cgroup.hpp"
#include "../plugin/os/spawn.hpp"
#include "model.hpp"

namespace lifehook {

// "host", "container" or "runtime" for this target.
std::string effective_exec_mode(const Target& target);

// Creates the process of an exec handler. `spec` is what the exec handler would give
// spawn_process() (argv, env = host env + target env, working dir, stdio, cgroup_fd). `cgroup` is
// reset when the process will not live in it. Warnings (settings that cannot be applied here)
// are appended to *warnings. Throws like spawn_process() / spawn_in_container().
Spawned launch_exec(const Target& target, const SpawnSpec& spec, std::unique_ptr<Cgroup>& cgroup,
                    std::vector<std::string>* warnings = nullptr);

}  // namespace lifehook
