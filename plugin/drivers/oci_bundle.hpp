// An OCI bundle (config.json + rootfs) for one Kubernetes container of a pod run by the oci
// driver: process.args = command + args, env, workingDir, securityContext (runAsUser/runAsGroup,
// capabilities add/drop over runc's default set, allowPrivilegeEscalation, readOnlyRootFilesystem),
// the pod sandbox's namespaces, and an optional default seccomp profile.
#pragma once

#include <string>

#include "../pod/spec.hpp"

namespace lifehook::drivers {

struct OciDriverOptions {
  std::string runtime = "runc";              // path or name
  std::string root = "/run/lifehook/runc";   // runtime state dir owned by lifehook
  std::string state = "/run/lifehook/pods";  // bundles and sandbox namespaces
  std::string rootfs = "host";               // a directory, or "host" (host /usr /bin ... read-only)
  std::string network = "pod";               // "pod" (own network namespace) or "host"
  std::string seccomp = "unconfined";        // or "default" (lifehook's default profile)
  std::string exec_mode = "container";       // how exec hooks run: container / runtime / host
  std::string monitor;                       // lifehook-monitor; empty: the installed one (oci_monitor.hpp)
  std::string pod_state_dir;                 // podStateDir: the pod's bundles and sandbox go to <it>/oci
};

// Parses the pod options' oci fields (an object; null = defaults). Errors name options.<field>.
OciDriverOptions parse_oci_driver_options(const json& options);

struct SandboxPaths {
  std::string net, ipc, uts;  // empty: a namespace of the container's own (net: host network)
};

// The bundle's file mounted at the container's terminationMessagePath.
inline constexpr const char* kTerminationLogFile = "termination-log";

// Writes <dir>/config.json, <dir>/rootfs and <dir>/termination-log for the container. Throws Error(LIFEHOOK_E_INVALID)
// naming the container's JSON path for settings it cannot honour.
void write_oci_bundle(const std::string& dir, const pod::PodSpec& pod, const pod::ContainerSpec& c,
                      const OciDriverOptions& options, const SandboxPaths& sandbox);

// Rejects what write_oci_bundle() cannot honour, before anything starts.
void validate_oci_container(const pod::ContainerSpec& c);

}  // namespace lifehook::drivers
