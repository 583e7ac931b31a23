// Interim exec inside the container for library builds without container exec: the command runs
// through util-linux nsenter(1), started by the library on the host (so the library still times
// it out and kills its whole tree), entering the mount, UTS, IPC, network and pid namespaces of
// the container's init and its root and working directory. Unlike the library's container mode it
// applies no capabilities, seccomp filter, rlimits or cgroup of the container: see docs/oci-hook.md.
#pragma once

#include <nlohmann/json.hpp>

#include "annotations.hpp"
#include "oci_input.hpp"

namespace ocihook {

// True when a run answered that exec inside a container is not available in this library.
bool container_exec_unsupported(int status, const std::string& error, const std::string& outcome,
                                const std::string& message);

// The handler entry rewritten to run `nsenter ... -- <command>`. Throws HookError when nsenter is
// not installed.
HandlerEntry nsenter_entry(const HandlerEntry& exec_entry, const OciState& state, const BundleConfig* config);
// Its target: on the host, with the container's environment (nsenter passes it on).
nlohmann::json nsenter_target(const BundleConfig* config);

}  // namespace ocihook
