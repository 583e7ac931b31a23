// The sandbox of a pod run by the oci driver: one network namespace (loopback up), one IPC and
// one UTS namespace (hostname = pod name), kept alive by bind mounts under the pod's state
// directory so that every container of the pod joins them through config.json namespace paths
// (what the pause container does for Kubernetes). Removed with the sandbox.
#pragma once

#include <memory>
#include <string>

namespace lifehook::drivers {

class PodSandbox {
 public:
  // Creates the namespaces under `dir` (created if missing). Throws Error(LIFEHOOK_E_SYSTEM).
  PodSandbox(const std::string& dir, const std::string& hostname);
  // The sandbox a previous host made under `dir` (lifehook_pod_adopt); null when there is none
  // (no namespace bind-mounted there).
  static std::unique_ptr<PodSandbox> existing(const std::string& dir);
  ~PodSandbox();  // unmounts and removes the namespace files: the namespaces die with the last user
  PodSandbox(const PodSandbox&) = delete;
  PodSandbox& operator=(const PodSandbox&) = delete;

  const std::string& net() const { return net_; }
  const std::string& ipc() const { return ipc_; }
  const std::string& uts() const { return uts_; }

 private:
  PodSandbox() = default;
  std::string net_, ipc_, uts_;
};

}  // namespace lifehook::drivers
