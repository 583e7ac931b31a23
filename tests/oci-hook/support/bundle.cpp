#include "bundle.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "rootfs.hpp"

namespace fs = std::filesystem;

namespace ocihook_test {

namespace {

std::string find_runc() {
  for (const char* p : {"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc", "/sbin/runc"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

}  // namespace

std::string runc_unavailable_reason() {
  if (::geteuid() != 0) return "runc tests need root";
  if (find_runc().empty()) return "runc is not installed (packaging/install-deps installs it)";
  if (static_busybox().empty()) return "busybox-static is not installed (packaging/install-deps installs it)";
  return {};
}

std::string hook_path() { return LIFEHOOK_OCI_HOOK_PATH; }

Bundle::Bundle(const std::string& name_hint) {
  static std::atomic<int> counter{0};
  id_ = "lhoh-" + name_hint + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  char tmpl[] = "/tmp/lifehook-ocihook-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  runc_root_ = dir_ + "/runc-root";
  fs::create_directories(runc_root_);
  make_busybox_rootfs(rootfs());

  ProcResult spec = run_process(find_runc(), {"runc", "spec", "--bundle", dir_}, "", test_env(), 20);
  if (spec.exit_code != 0) throw std::runtime_error("runc spec failed: " + spec.err);
  std::ifstream in(dir_ + "/config.json");
  config_ = json::parse(in);
  config_["process"]["terminal"] = false;
  config_["process"]["env"] = json::array({"PATH=/bin", "LIFEHOOK_TEST_ENV=from-config"});
  config_["root"]["readonly"] = false;
  config_["hostname"] = "lhoh-inside";
  // Host network: the hooks and the container reach the same loopback ports.
  json ns = json::array();
  for (const auto& n : config_["linux"]["namespaces"])
    if (n.value("type", "") != "network") ns.push_back(n);
  config_["linux"]["namespaces"] = ns;
  // Each container in its own cgroup: runc's default (/<id>) is shared by every helper on the machine.
  config_["linux"]["cgroupsPath"] = "/lifehook-ocihook-" + id_;
  config_["annotations"] = json::object();
}

Bundle::~Bundle() {
  runc({"delete", "-f", id_}, 20);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void Bundle::set_process(const std::vector<std::string>& args) { config_["process"]["args"] = args; }

void Bundle::annotate(const std::string& key, const std::string& value) { config_["annotations"][key] = value; }

void Bundle::add_hook(const std::string& stage, std::optional<int> timeout_s) {
  std::vector<std::string> env = test_env();
  json h = {{"path", hook_path()}, {"args", {"lifehook-oci-hook", stage}}, {"env", env}};
  if (timeout_s) h["timeout"] = *timeout_s;
  config_["hooks"][stage].push_back(h);
}

void Bundle::write_config() const {
  std::ofstream out(dir_ + "/config.json", std::ios::trunc);
  out << config_.dump(2);
}

ProcResult Bundle::runc(const std::vector<std::string>& args, double timeout_s) const {
  write_config();
  std::vector<std::string> argv = {"runc", "--root", runc_root_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(find_runc(), argv, "", test_env(), timeout_s);
}

std::string Bundle::status() const {
  std::vector<std::string> argv = {"runc", "--root", runc_root_, "state", id_};
  ProcResult r = run_process(find_runc(), argv, "", test_env(), 20);
  if (r.exit_code != 0) return "";
  json s = json::parse(r.out, nullptr, false);
  return s.is_object() ? s.value("status", "") : "";
}

std::string Bundle::read_file(const std::string& name) const {
  std::ifstream f(dir_ + "/" + name);
  if (!f) return "";
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace ocihook_test
