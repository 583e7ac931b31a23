#include "podman.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "bundle.hpp"
#include "rootfs.hpp"

namespace fs = std::filesystem;

namespace ocihook_test {

namespace {

std::string find_podman() {
  for (const char* p : {"/usr/bin/podman", "/usr/local/bin/podman"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

// podman's --annotation is a string slice parsed as CSV: a value with commas or quotes must be
// one quoted CSV field with its quotes doubled.
std::string csv_field(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  if (!f) return "";
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Mounts podman may leave under `dir` (shm of a container whose cleanup failed) block removal.
void unmount_below(const std::string& dir) {
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  std::vector<std::string> points;
  while (std::getline(mi, line)) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, point;
    ls >> id >> parent >> devno >> root >> point;
    if (point.rfind(dir + "/", 0) == 0) points.push_back(point);
  }
  for (auto it = points.rbegin(); it != points.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
}

}  // namespace

std::string podman_unavailable_reason(const std::string& runtime) {
  if (::geteuid() != 0) return "podman tests need root";
  if (find_podman().empty()) return "podman is not installed (packaging/install-deps installs it)";
  if (runtime == "crun" && ::access("/usr/bin/crun", X_OK) != 0)
    return "crun is not installed (packaging/install-deps installs it)";
  if (static_busybox().empty()) return "busybox-static is not installed (packaging/install-deps installs it)";
  return {};
}

PodmanSandbox::PodmanSandbox(const std::string& name_hint, const std::string& runtime)
    : runtime_(runtime == "crun" ? std::string(LIFEHOOK_CRUN_PRIVATE_NS) : runtime) {
  static std::atomic<int> counter{0};
  name_ = "lhoh-pm-" + name_hint + "-" + runtime + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  char tmpl[] = "/tmp/lifehook-ocihook-podman-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  make_busybox_rootfs(rootfs());
  fs::create_directories(path("hooks.d"));
  for (const auto& e : fs::directory_iterator(LIFEHOOK_HOOKS_D_DIR)) {
    if (e.path().extension() != ".json") continue;
    std::string text = slurp(e.path());
    const std::string installed = "/usr/libexec/lifehook/lifehook-oci-hook";
    auto at = text.find(installed);
    if (at == std::string::npos) throw std::runtime_error(e.path().string() + " does not name " + installed);
    text.replace(at, installed.size(), hook_path());
    std::ofstream(path("hooks.d/" + e.path().filename().string())) << text;
  }
}

PodmanSandbox::~PodmanSandbox() {
  podman({"rm", "-f", "-a", "-t", "0"}, 30);
  unmount_below(dir_);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PodmanSandbox::read_file(const std::string& n) const { return slurp(path(n)); }

ProcResult PodmanSandbox::podman(const std::vector<std::string>& args, double timeout_s) const {
  std::vector<std::string> argv = {
      "podman", "--root", path("storage"), "--runroot", path("run"), "--tmpdir", path("tmp"), "--storage-driver", "vfs",
      "--cgroup-manager", "cgroupfs", "--events-backend", "none",
      // Pinned: with crun installed podman 4.3 picks crun, which this machine's hybrid cgroups stop.
      "--runtime", runtime_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(find_podman(), argv, "", test_env(), timeout_s);
}

ProcResult PodmanSandbox::run(const std::map<std::string, std::string>& annotations,
                              const std::vector<std::string>& command, double timeout_s) const {
  // The ulimits: podman's defaults exceed this kind of machine's hard limits (runc then fails with
  // "error setting rlimit type 7: operation not permitted").
  std::vector<std::string> args = {"run",         "--rm",
                                   "--name",      name_,
                                   "--network",   "host",
                                   "--ulimit",    "nofile=1024:1024",
                                   "--ulimit",    "nproc=1024:1024",
                                   "--hooks-dir", path("hooks.d"),
                                   "--env",       "LIFEHOOK_PM=from-podman"};
  for (const auto& [k, v] : annotations) {
    args.push_back("--annotation");
    args.push_back(csv_field(k + "=" + v));
  }
  args.push_back("--rootfs");
  args.push_back(rootfs());
  args.insert(args.end(), command.begin(), command.end());
  return podman(args, timeout_s);
}

}  // namespace ocihook_test
