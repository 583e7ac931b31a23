// lifehook-oci-hook STAGE — lifehook's handlers as an OCI runtime hook (runc, crun, podman,
// CRI-O). The stage comes from argv (the OCI state carries none), the state from stdin, the
// configuration from the container's lifehook.io/* annotations. Exit 0: nothing to do or done;
// exit 1: a handler or an input failed (one line on stderr says which and why); exit 2: usage.
#include <fcntl.h>
#include <lifehook/lifehook.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "annotations.hpp"
#include "budget.hpp"
#include "engine.hpp"
#include "hook_error.hpp"
#include "hook_log.hpp"
#include "oci_input.hpp"
#include "orphan_reaper.hpp"
#include "post_handlers.hpp"
#include "wait_for.hpp"

namespace ocihook {
namespace {

constexpr const char* kStages[] = {"prestart",       "createRuntime", "createContainer",
                                   "startContainer", "poststart",     "poststop"};

// Runtimes write the state at once; this only bounds a hook started by hand without stdin.
constexpr std::chrono::seconds kStdinLimit{10};

void usage_line(const std::string& why) {
  std::fprintf(stderr,
               "lifehook-oci-hook: %s; usage: lifehook-oci-hook STAGE (prestart|createRuntime|createContainer|"
               "startContainer|poststart|poststop) with the OCI state JSON on stdin\n",
               why.c_str());
}

void stderr_line(const std::string& stage, const std::string& message) {
  std::fprintf(stderr, "lifehook-oci-hook %s: %s\n", stage.c_str(), message.c_str());
}

bool is_gate_stage(const std::string& s) { return s == "prestart" || s == "createRuntime"; }

// The post-start failure policy, the same on every runtime: the container is stopped. runc kills it
// when a poststart hook fails (runtime-spec 1.3 made that the rule); crun only ignores the failure,
// so the hook has the container's init killed (SIGKILL through a pidfd: no pid reuse race). Not by
// the hook itself: crun waits for a hook with SIGCHLD/sigtimedwait, and when its other child, the
// container's init, dies while the hook exits, crun can miss the hook's exit and wait out the hook's
// whole OCI timeout. A detached helper sends the signal once the hook has exited; it holds no
// descriptor of the hook's (a runtime waiting for EOF on the hook's stdout/stderr is not held up).
// Called last, after reap_adopted_children (which would end the helper).
void stop_container_after_post_start_failure(int pid, const std::string& stage, HookLog& log) {
  int target = pid > 0 ? static_cast<int>(syscall(SYS_pidfd_open, pid, 0)) : -1;
  int self = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  pid_t child = target >= 0 && self >= 0 ? fork() : -1;
  if (child == 0) {  // only async-signal-safe calls from here on
    setsid();
    if (fork() != 0) _exit(0);
    int t = fcntl(target, F_DUPFD, 100), h = fcntl(self, F_DUPFD, 100);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (t < 0 || h < 0 || null < 0) _exit(1);
    dup2(null, 0), dup2(null, 1), dup2(null, 2), dup2(t, 3), dup2(h, 4);
    syscall(SYS_close_range, 5U, ~0U, 0U);
    struct pollfd exited = {4, POLLIN, 0};
    poll(&exited, 1, 10000);  // the hook's pidfd is readable once it has exited
    syscall(SYS_pidfd_send_signal, 3, SIGKILL, nullptr, 0);
    _exit(0);
  }
  if (child > 0) waitpid(child, nullptr, 0);  // the intermediate child exits at once
  if (target >= 0) close(target);
  if (self >= 0) close(self);
  std::string msg = child > 0 ? "post-start failed: stopping the container (SIGKILL to its init, pid " +
                                    std::to_string(pid) + ", once this hook has exited)"
                              : "post-start failed and the container could not be stopped (pid " + std::to_string(pid) +
                                    "): " + std::strerror(errno);
  log.warn(msg);
  stderr_line(stage, msg);
}

// Everything the hook does for one stage; throws HookError. *container_pid: the state's pid, once read.
void run_stage(const std::string& stage, const std::vector<std::string>& argv, Clock::time_point started, HookLog& log,
               int* container_pid) {
  OciState state = parse_state(read_state_text(STDIN_FILENO, kStdinLimit));
  *container_pid = state.pid;
  log.set_subject(stage, state.id);
  // createContainer and startContainer run inside the container's namespaces, where the bundle
  // path means nothing; lifehook has no work there.
  if (stage == "createContainer" || stage == "startContainer") return;

  std::optional<BundleConfig> config;
  std::string config_error;
  try {
    config = read_bundle_config(state.bundle);
  } catch (const HookError& e) {
    config_error = e.what();
  }
  json merged = config ? config->annotations : json::object();
  for (const auto& [k, v] : state.annotations.items()) merged[k] = v;
  Annotations ann = parse_annotations(merged);
  if (!ann.any) {
    // Matched broadly and not ours: harmless. Unless we could not even look (no config and the
    // state carries no annotations): then the runtime's input is broken and we say so — except
    // after the container is gone, when the bundle may legitimately be gone too.
    if (config || !state.annotations.empty() || stage == "poststop") return;
    throw HookError(config_error);
  }
  if (!ann.log_path.empty()) {
    std::string why = log.use_file(ann.log_path);
    if (!why.empty()) log.warn(std::string(kLog) + " " + ann.log_path + ": " + why + "; logging to syslog");
  }
  if (!config) log.warn("using the annotations of the state only: " + config_error);
  Budget budget(started, config ? own_hook_timeout(config->hooks, argv) : std::nullopt);
  if (budget.limited()) log.debug("the hook's OCI timeout is " + seconds_text(*budget.oci_timeout_s()) + " s");

  // Bad annotations: at the gate every one is fatal, so a typo cannot start a container that was
  // meant to wait; later stages care about their own annotation only.
  auto fatal = [&](const char* key) {
    if (auto it = ann.errors.find(key); it != ann.errors.end()) throw HookError(it->second);
  };
  if (is_gate_stage(stage)) {
    std::string all;
    for (const auto& [key, msg] : ann.errors) all += (all.empty() ? "" : "; ") + msg;
    if (!all.empty()) throw HookError(all);
    if (ann.wait_for.empty()) return;
    Engine engine(log);
    run_wait_for(engine, ann, budget, log);
  } else if (stage == "poststart") {
    fatal(kPostStart);
    if (!ann.post_start) return;
    Engine engine(log);
    run_post_start(engine, *ann.post_start, state, config ? &*config : nullptr, budget, log);
  } else if (stage == "poststop") {
    fatal(kPostStop);
    if (!ann.post_stop) return;
    Engine engine(log);
    run_post_stop(engine, *ann.post_stop, budget, log);
  }
}

int main_impl(int argc, char** argv) {
  const Clock::time_point started = process_start_time();
  if (argc < 2) {
    usage_line("the stage is missing");
    return 2;
  }
  const std::string stage = argv[1];
  if (stage == "--version") {
    std::printf("lifehook-oci-hook %s\n", lifehook_version());
    return 0;
  }
  bool known = false;
  for (const char* s : kStages) known = known || stage == s;
  if (!known) {
    usage_line("unknown stage \"" + stage + "\"");
    return 2;
  }
  std::vector<std::string> args(argv, argv + argc);
  become_subreaper();
  HookLog log;
  log.set_subject(stage, "");
  int rc = 0;
  int container_pid = 0;
  try {
    run_stage(stage, args, started, log, &container_pid);  // the library context lives and dies inside
  } catch (const HookError& e) {
    log.error(e.what());
    stderr_line(stage, e.what());
    rc = 1;
  } catch (const std::exception& e) {  // a bug, but the runtime still deserves one clear line
    log.error(std::string("internal error: ") + e.what());
    stderr_line(stage, std::string("internal error: ") + e.what());
    rc = 1;
  }
  if (int killed = reap_adopted_children(std::chrono::milliseconds(500)))
    log.warn("killed " + std::to_string(killed) + " leftover process(es) orphaned below the hook");
  if (rc != 0 && stage == "poststart") stop_container_after_post_start_failure(container_pid, stage, log);
  // The spec makes poststop failures warnings; runc would instead fail `runc delete`.
  return stage == "poststop" ? 0 : rc;
}

}  // namespace
}  // namespace ocihook

int main(int argc, char** argv) { return ocihook::main_impl(argc, argv); }
