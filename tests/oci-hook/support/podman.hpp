// podman for the tests, isolated from the machine's own containers: private storage (vfs),
// run and tmp directories, cgroupfs, no events; containers from a busybox --rootfs (no image
// pull: the machine reaches no registry), host network, and the shipped hooks.d files rewritten
// to point at the built hook. The destructor removes every container and directory.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "process.hpp"

namespace ocihook_test {

// Why podman tests cannot run here ("" when they can), with `runtime` ("runc" or "crun").
std::string podman_unavailable_reason(const std::string& runtime = "runc");

class PodmanSandbox {
 public:
  // runtime: "runc" or "crun", always passed to podman as --runtime (podman 4.3 picks crun when it
  // is installed). crun goes through tests/ecosystem/crun-private-ns: crun 1.8 refuses this kind of
  // machine's hybrid cgroup layout ("cgroups in hybrid mode not supported"), and runs in a private
  // mount namespace without /sys/fs/cgroup/unified there (see the script).
  explicit PodmanSandbox(const std::string& name_hint, const std::string& runtime = "runc");
  ~PodmanSandbox();
  PodmanSandbox(const PodmanSandbox&) = delete;
  PodmanSandbox& operator=(const PodmanSandbox&) = delete;

  const std::string& name() const { return name_; }
  std::string rootfs() const { return dir_ + "/rootfs"; }
  std::string path(const std::string& n) const { return dir_ + "/" + n; }
  std::string read_file(const std::string& n) const;  // "" when missing

  // `podman run --rm` of `command` with the annotations, through --hooks-dir.
  ProcResult run(const std::map<std::string, std::string>& annotations, const std::vector<std::string>& command,
                 double timeout_s = 60) const;
  ProcResult podman(const std::vector<std::string>& args, double timeout_s = 60) const;

 private:
  std::string name_, dir_, runtime_;
};

}  // namespace ocihook_test
