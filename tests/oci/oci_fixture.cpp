#include "oci_fixture.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lifehook::testing {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kBusybox = "/bin/busybox";
constexpr const char* kApplets[] = {"sh",   "cat",   "sleep", "true",  "false", "readlink", "ls",   "echo", "id",
                                    "grep", "httpd", "wget",  "kill",  "ps",    "env",      "pwd",  "test", "touch",
                                    "nc",   "awk",   "sed",   "mkdir", "rm",    "wc",       "head", "trap", "printf"};

std::atomic<int> g_counter{0};

struct RootCleaner {
  std::string root;
  ~RootCleaner() {
    if (root.empty()) return;
    // Anything a crashed test left behind: kill and delete every container of our private root.
    run_command("for id in $(runc --root " + root + " list -q 2>/dev/null); do runc --root " + root +
                " delete -f $id >/dev/null 2>&1; done");
    std::error_code ec;
    fs::remove_all(fs::path(root).parent_path(), ec);
  }
};
RootCleaner g_root_cleaner;

bool runc_found() {
  int rc = 0;
  run_command("command -v runc >/dev/null 2>&1", &rc);
  return rc == 0;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

}  // namespace

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  return q + "'";
}

std::string oci_skip_reason() {
  if (::geteuid() != 0) return "needs root (runc containers); CI runs as root";
  if (!runc_found()) return "needs runc (apt-get install runc)";
  if (::access(kBusybox, X_OK) != 0) return "needs busybox-static (/bin/busybox)";
  return "";
}

std::string run_command(const std::string& cmdline, int* rc) {
  std::string out;
  FILE* p = ::popen(cmdline.c_str(), "re");
  if (!p) {
    if (rc) *rc = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  if (rc) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

std::string test_runtime_root() {
  if (g_root_cleaner.root.empty()) {
    std::string base = "/tmp/lifehook-oci-test-" + std::to_string(::getpid());
    fs::create_directories(base + "/root");
    g_root_cleaner.root = base + "/root";
  }
  return g_root_cleaner.root;
}

std::string make_bundle(const std::string& dir, const BundleOptions& o) {
  fs::path b(dir);
  fs::create_directories(b / "rootfs");
  for (const char* d : {"bin", "proc", "dev", "sys", "tmp", "etc", "home/app", "root"})
    fs::create_directories(b / "rootfs" / d);
  fs::permissions(b / "rootfs/tmp", fs::perms::all | fs::perms::sticky_bit);
  fs::copy_file(kBusybox, b / "rootfs/bin/busybox", fs::copy_options::overwrite_existing);
  for (const char* a : kApplets) fs::create_symlink("busybox", b / "rootfs/bin" / a);
  write_file(b / "rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
  write_file(b / "rootfs/etc/group", "root:x:0:\napp:x:1000:\nextra:x:2000:app\n");

  int rc = 0;
  run_command("cd " + shell_quote(dir) + " && runc spec 2>&1", &rc);
  std::ifstream in(b / "config.json");
  json c = json::parse(in);
  json& p = c["process"];
  p["terminal"] = false;
  p["args"] = o.args;
  p["env"] = o.env;
  p["cwd"] = o.cwd;
  p["user"] = {{"uid", o.uid}, {"gid", o.gid}};
  if (!o.additional_gids.empty()) p["user"]["additionalGids"] = o.additional_gids;
  if (o.capabilities)
    for (const char* set : {"bounding", "effective", "permitted", "inheritable", "ambient"})
      p["capabilities"][set] = *o.capabilities;
  p["noNewPrivileges"] = o.no_new_privileges;
  if (!o.rlimits.is_null()) p["rlimits"] = o.rlimits;
  if (o.extra_process.is_object()) p.update(o.extra_process);
  c["root"]["readonly"] = true;
  json& linux_obj = c["linux"];
  if (!o.seccomp.is_null()) linux_obj["seccomp"] = o.seccomp;
  if (!o.network_ns_path.empty())
    for (json& ns : linux_obj["namespaces"])
      if (ns["type"] == "network") ns["path"] = o.network_ns_path;
  if (o.user_namespace) {
    linux_obj["namespaces"].push_back({{"type", "user"}});
    linux_obj["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
    linux_obj["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
    // A v1 cgroup mount is not allowed from inside a user namespace.
    json mounts = json::array();
    for (const json& m : c["mounts"])
      if (m["destination"] != "/sys/fs/cgroup") mounts.push_back(m);
    c["mounts"] = mounts;
    run_command("chown -R 100000:100000 " + shell_quote((b / "rootfs").string()));
  }
  std::ofstream(b / "config.json") << c.dump(1);
  return dir;
}

RuncContainer::RuncContainer(const BundleOptions& opts) {
  std::string root = test_runtime_root();
  id_ = "lh-" + std::to_string(::getpid()) + "-" + std::to_string(g_counter++);
  dir_ = fs::path(root).parent_path().string() + "/" + id_;
  bundle_ = make_bundle(dir_, opts);
  int rc = 0;
  // Detached, with stdio on /dev/null: the container must hold none of the test's pipes.
  std::string out = run_command("runc --root " + root + " run -d --bundle " + shell_quote(bundle_) + " " + id_ +
                                    " </dev/null >/dev/null 2>" + shell_quote(dir_ + "/run.err"),
                                &rc);
  if (rc != 0) {
    std::ifstream err(dir_ + "/run.err");
    std::stringstream s;
    s << err.rdbuf();
    error_ = "runc run failed (" + std::to_string(rc) + "): " + s.str();
    return;
  }
  std::string state = runc("state " + id_);
  try {
    pid_ = json::parse(state).value("pid", -1);
  } catch (const std::exception& e) {
    error_ = std::string("runc state: ") + e.what() + ": " + state;
  }
}

RuncContainer::~RuncContainer() {
  runc("kill " + id_ + " KILL >/dev/null 2>&1");
  runc("delete -f " + id_ + " >/dev/null 2>&1");
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string RuncContainer::runc(const std::string& args, int* rc) const {
  return run_command("runc --root " + test_runtime_root() + " " + args, rc);
}

std::string RuncContainer::runc_exec(const std::vector<std::string>& argv, int* rc) const {
  std::string cmd = "exec " + id_;
  for (const auto& a : argv) cmd += " " + shell_quote(a);
  return runc(cmd + " </dev/null", rc);
}

}  // namespace lifehook::testing
