// A real OCI bundle for runc in a private temporary directory: a busybox-static rootfs, the
// config.json of `runc spec` adapted for tests (no terminal, writable root, host network so the
// loopback ports the test opens are the container's too, a unique cgroup), and a private runc
// --root. The destructor runs `runc delete -f` and removes everything, also after a failed test.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"

namespace ocihook_test {

using json = nlohmann::json;

// Why runc tests cannot run here ("" when they can): not root, no runc, no busybox-static.
std::string runc_unavailable_reason();

// The built hook (LIFEHOOK_OCI_HOOK_PATH from CMake).
std::string hook_path();

class Bundle {
 public:
  explicit Bundle(const std::string& name_hint);
  ~Bundle();
  Bundle(const Bundle&) = delete;
  Bundle& operator=(const Bundle&) = delete;

  const std::string& id() const { return id_; }
  const std::string& dir() const { return dir_; }
  std::string rootfs() const { return dir_ + "/rootfs"; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  json& config() { return config_; }

  void set_process(const std::vector<std::string>& args);
  void annotate(const std::string& key, const std::string& value);
  // Adds the built hook at `stage` with args [lifehook-oci-hook, stage].
  void add_hook(const std::string& stage, std::optional<int> timeout_s = std::nullopt);
  void write_config() const;

  // `runc --root <private> ARGS...` (config written first).
  ProcResult runc(const std::vector<std::string>& args, double timeout_s = 30) const;
  ProcResult run_detached(double timeout_s = 30) const { return runc({"run", "-d", "--bundle", dir_, id_}, timeout_s); }
  ProcResult run_foreground(double timeout_s = 30) const { return runc({"run", "--bundle", dir_, id_}, timeout_s); }
  // "running", "stopped", ... or "" when runc does not know the container.
  std::string status() const;
  std::string read_file(const std::string& name) const;  // "" when missing

 private:
  std::string id_, dir_, runc_root_;
  json config_;
};

}  // namespace ocihook_test
