#include "exec_target.hpp"

#include <dirent.h>

#include <optional>
#include <utility>

#include "../plugin/common/errors.hpp"
#include "../plugin/common/regular_file.hpp"
#include "../plugin/os/container_exec.hpp"
#include "../plugin/os/runc_state.hpp"

namespace lifehook {
namespace {

constexpr const char* kDefaultRuntimeRoot = "/run/runc";

struct RuntimeContainer {
  std::string runtime;
  std::string root;
  std::string id;
};

// runc keeps <root>/<id>/state.json with the init pid, crun <root>/<id>/status; reading it costs no process.
// The request's own runtime root (target.runtimeRoot, which the oci driver sets on its hooks'
// targets) when it names one, else runc's default /run/runc.
// A state file that is refused (not a regular file, too large) is skipped and named in *refused
// (the first ones: the message stays short).
std::optional<RuntimeContainer> find_runtime_container(int pid, const Target& target, std::string* refused) {
  // Without a root, runc's defaults (target.runtime alone names no state root).
  const bool own_root = !target.runtime_root.empty();
  const std::string runtime = own_root && !target.runtime.empty() ? target.runtime : "runc";
  const std::string root = own_root ? target.runtime_root : kDefaultRuntimeRoot;
  DIR* d = ::opendir(root.c_str());  // O_CLOEXEC (glibc)
  if (!d) return std::nullopt;
  std::optional<RuntimeContainer> found;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    try {
      if (oci_init_pid(root + "/" + e->d_name) == pid) {
        found = RuntimeContainer{runtime, root, e->d_name};
        break;
      }
    } catch (const FileReadError& err) {
      if (refused->size() < 1024) *refused += std::string(refused->empty() ? "" : "; ") + err.what();
    }
  }
  ::closedir(d);
  return found;
}

}  // namespace

std::string effective_exec_mode(const Target& t) {
  if (!t.exec_mode.empty()) return t.exec_mode;
  return t.pid && !t.bundle.empty() ? "container" : "host";
}

Spawned launch_exec(const Target& target, const SpawnSpec& spec, std::unique_ptr<Cgroup>& cgroup,
                    std::vector<std::string>* warnings) {
  std::string mode = effective_exec_mode(target);
  if (mode == "host") return spawn_process(spec);
  if (!target.pid) throw_invalid("target.pid", "is required for execMode " + mode + " (the container's init pid)");

  if (mode == "container") {
    ContainerExecSpec c;
    c.target_pid = *target.pid;
    c.bundle = target.bundle;
    c.argv = spec.argv;
    for (const EnvVar& e : target.env) c.env.push_back(e.name + "=" + e.value);
    c.working_dir = target.working_dir;
    c.stdin_fd = spec.stdin_fd;
    c.stdout_fd = spec.stdout_fd;
    c.stderr_fd = spec.stderr_fd;
    ContainerSpawned s = spawn_in_container(c);
    cgroup.reset();  // it lives in the container's cgroup, as runc exec would put it
    if (warnings) warnings->insert(warnings->end(), s.warnings.begin(), s.warnings.end());
    return std::move(s.spawned);
  }

  // runtime: `<runtime> --root <root> exec --env ... --cwd ... <id> argv...`
  std::string refused;
  std::optional<RuntimeContainer> rc = find_runtime_container(*target.pid, target, &refused);
  if (!rc)
    throw Error(
        LIFEHOOK_E_NOT_FOUND,
        "target.pid: no OCI runtime container has init pid " + std::to_string(*target.pid) +
            (target.runtime_root.empty() ? " in " + std::string(kDefaultRuntimeRoot) + " (set target.runtimeRoot)"
                                         : " in target.runtimeRoot " + target.runtime_root) +
            (refused.empty() ? std::string() : "; state files refused: " + refused));
  SpawnSpec r = spec;
  r.argv = {rc->runtime, "--root", rc->root, "exec"};
  for (const EnvVar& e : target.env) {
    r.argv.push_back("--env");
    r.argv.push_back(e.name + "=" + e.value);
  }
  if (!target.working_dir.empty()) {
    r.argv.push_back("--cwd");
    r.argv.push_back(target.working_dir);
  }
  r.argv.push_back(rc->id);
  r.argv.insert(r.argv.end(), spec.argv.begin(), spec.argv.end());
  r.working_dir.clear();  // the working directory is the container's (--cwd), not the host's
  // runc puts the exec'd process in its own session and in the container's cgroup: the tree is
  // runc exec plus its descendants, which the Child's process-group-and-descendants kill covers.
  r.cgroup_fd = -1;
  cgroup.reset();
  return spawn_process(r);
}

}  // namespace lifehook
