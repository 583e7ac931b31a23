#include "oci_bundle.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "../common/errors.hpp"
#include "../common/regular_file.hpp"

namespace lifehook::drivers {
namespace fs = std::filesystem;

namespace {

// runc's default capability set (`runc spec`), which Kubernetes' add/drop modify.
const std::vector<std::string> kDefaultCapabilities = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};

// lifehook's "default" seccomp profile: everything allowed except what a workload has no business
// calling (kernel modules, reboot, keyrings, namespaces and mounts, tracing, BPF, clock changes).
const char* kDefaultSeccomp = R"({
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
  "syscalls": [{"names": ["acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "delete_module",
                          "finit_module", "init_module", "kexec_file_load", "kexec_load", "keyctl", "mount",
                          "move_mount", "open_tree", "fsopen", "fsmount", "perf_event_open", "pivot_root",
                          "ptrace", "reboot", "request_key", "setns", "settimeofday", "swapoff", "swapon",
                          "umount2", "unshare", "userfaultfd"],
                "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
})";

std::string cap_name(const std::string& k8s) {
  std::string n = k8s;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return n.rfind("CAP_", 0) == 0 ? n : "CAP_" + n;
}

json mount(const std::string& dest, const std::string& type, const std::string& source, json options) {
  return {{"destination", dest}, {"type", type}, {"source", source}, {"options", std::move(options)}};
}

// The host's programs in a container without an image: /usr and /etc read-only; /bin /sbin /lib
// /lib64 as the same symlinks (merged /usr) or read-only binds.
void host_rootfs(const fs::path& rootfs, json& mounts) {
  for (const char* d : {"usr", "etc", "bin", "sbin", "lib", "lib64", "lib32", "libx32"}) {
    fs::path host = fs::path("/") / d;
    std::error_code ec;
    auto st = fs::symlink_status(host, ec);
    if (ec || !fs::exists(st)) continue;
    if (fs::is_symlink(st)) {
      fs::create_symlink(fs::read_symlink(host), rootfs / d, ec);
    } else if (fs::is_directory(st)) {
      fs::create_directories(rootfs / d, ec);
      mounts.push_back(mount(std::string("/") + d, "bind", host.string(), {"rbind", "ro", "nosuid", "nodev"}));
    }
  }
  mounts.push_back(mount("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777", "size=65536k"}));
}

const json* sc_field(const pod::ContainerSpec& c, const char* key) {
  const json* sc = field(c.raw, "securityContext");
  return sc ? field(*sc, key) : nullptr;
}

}  // namespace

OciDriverOptions parse_oci_driver_options(const json& j) {
  OciDriverOptions o;
  if (j.is_null()) return o;
  require_object(j, "options");
  auto str = [&](const char* key, std::string& out, std::initializer_list<const char*> allowed) {
    if (!field(j, key)) return;
    std::string v = get_string(j, key, "options");
    if (allowed.size() && std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return v == a; }))
      throw_invalid(std::string("options.") + key, "is not one of the allowed values", json_value_text(j[key]));
    if (v.empty()) throw_invalid(std::string("options.") + key, "must not be empty");
    out = v;
  };
  str("runtime", o.runtime, {});
  str("root", o.root, {});
  str("stateDir", o.state, {});
  str("rootfs", o.rootfs, {});
  str("network", o.network, {"pod", "host"});
  str("seccomp", o.seccomp, {"unconfined", "default"});
  str("execMode", o.exec_mode, {"container", "runtime", "host"});
  str("monitor", o.monitor, {});
  str("podStateDir", o.pod_state_dir, {});
  if (o.rootfs != "host" && o.rootfs[0] != '/')
    throw_invalid("options.rootfs", "must be \"host\" or an absolute directory", json_value_text(j["rootfs"]));
  return o;
}

void validate_oci_container(const pod::ContainerSpec& c) {
  if (c.command.empty() && c.args.empty())
    throw_invalid(c.path + ".command", "is required: the oci driver runs commands on a rootfs, not images");
  if (const json* p = sc_field(c, "privileged"); p && p->is_boolean() && p->get<bool>())
    throw_invalid(c.path + ".securityContext.privileged", "is not supported by the oci driver", "true");
  for (const char* key : {"runAsUser", "runAsGroup"})
    if (const json* v = sc_field(c, key);
        v && (!v->is_number_integer() || v->get<int64_t>() < 0 || v->get<int64_t>() > 4294967294))
      throw_invalid(c.path + ".securityContext." + key, "must be a uid/gid 0..4294967294", json_value_text(*v));
}

void write_oci_bundle(const std::string& dir, const pod::PodSpec& pod, const pod::ContainerSpec& c,
                      const OciDriverOptions& options, const SandboxPaths& sandbox) {
  validate_oci_container(c);
  fs::path b(dir);
  fs::create_directories(b / "rootfs");

  json process;
  process["terminal"] = false;
  json user = {{"uid", 0}, {"gid", 0}};
  if (const json* u = sc_field(c, "runAsUser")) user["uid"] = *u;
  if (const json* g = sc_field(c, "runAsGroup")) user["gid"] = *g;
  process["user"] = user;
  std::vector<std::string> args = c.command;
  args.insert(args.end(), c.args.begin(), c.args.end());
  process["args"] = args;
  std::vector<std::string> env;
  bool has_path = std::any_of(c.env.begin(), c.env.end(), [](const EnvVar& e) { return e.name == "PATH"; });
  if (!has_path) env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  env.push_back("HOSTNAME=" + pod.name);
  for (const EnvVar& e : c.env) env.push_back(e.name + "=" + e.value);
  process["env"] = env;
  process["cwd"] = c.working_dir.empty() ? "/" : c.working_dir;

  std::vector<std::string> caps = kDefaultCapabilities;
  if (const json* cj = sc_field(c, "capabilities")) {
    if (const json* drop = field(*cj, "drop"); drop && drop->is_array())
      for (const json& d : *drop) {
        std::string n = d.is_string() ? cap_name(d.get<std::string>()) : "";
        if (n == "CAP_ALL")
          caps.clear();
        else
          caps.erase(std::remove(caps.begin(), caps.end(), n), caps.end());
      }
    if (const json* add = field(*cj, "add"); add && add->is_array())
      for (const json& a : *add)
        if (a.is_string() && std::find(caps.begin(), caps.end(), cap_name(a.get<std::string>())) == caps.end())
          caps.push_back(cap_name(a.get<std::string>()));
  }
  process["capabilities"] = {
      {"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"inheritable", caps}, {"ambient", caps}};
  process["rlimits"] = json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}});
  // Privilege escalation only when asked for (runc's spec default; Kubernetes' is the opposite).
  const json* ape = sc_field(c, "allowPrivilegeEscalation");
  process["noNewPrivileges"] = !(ape && ape->is_boolean() && ape->get<bool>());

  json mounts = json::array({
      mount("/proc", "proc", "proc", json::array()),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
  });
  json root;
  const json* ro = sc_field(c, "readOnlyRootFilesystem");
  if (options.rootfs == "host") {
    host_rootfs(b / "rootfs", mounts);
    root = {{"path", "rootfs"}, {"readonly", true}};
  } else {
    root = {{"path", options.rootfs}, {"readonly", ro && ro->is_boolean() && ro->get<bool>()}};
  }

  // terminationMessagePath: a fresh file of the bundle bind-mounted there, as the kubelet mounts one
  // from the pod's directory (kubelet_pods.go: makeMounts), writable by any user of the container;
  // read from the bundle at the exit (the container's /dev is its own tmpfs, gone with it).
  {
    fs::path log = b / kTerminationLogFile;
    try {
      write_regular_file(log.string(), "", 0666);
    } catch (const FileReadError& e) {
      throw Error(LIFEHOOK_E_SYSTEM, "oci driver: write " + std::string(e.what()));
    }
    std::error_code ec;
    fs::permissions(log, fs::perms(0666), ec);  // past the umask
    std::string dest = c.termination_message_path;
    if (dest.front() != '/') dest = (c.working_dir.empty() ? std::string() : c.working_dir) + "/" + dest;
    mounts.push_back(mount(dest, "bind", log.string(), {"rbind", "rw", "nosuid", "nodev", "noexec"}));
  }

  json namespaces = json::array({{{"type", "pid"}}, {{"type", "mount"}}});
  auto ns = [&](const char* type, const std::string& path) {
    json n = {{"type", type}};
    if (!path.empty()) n["path"] = path;
    namespaces.push_back(n);
  };
  if (options.network == "pod") ns("network", sandbox.net);
  ns("ipc", sandbox.ipc);
  ns("uts", sandbox.uts);

  json linux_obj = {{"namespaces", namespaces},
                    {"maskedPaths",
                     {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                      "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
                    {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}};
  if (options.seccomp == "default") linux_obj["seccomp"] = json::parse(kDefaultSeccomp);

  json config = {
      {"ociVersion", "1.0.2"}, {"process", process}, {"root", root}, {"mounts", mounts}, {"linux", linux_obj}};
  if (sandbox.uts.empty()) config["hostname"] = pod.name;
  try {
    write_regular_file((b / "config.json").string(), config.dump(1));
  } catch (const FileReadError& e) {
    throw Error(LIFEHOOK_E_SYSTEM, "oci driver: write " + std::string(e.what()));
  }
}

}  // namespace lifehook::drivers
