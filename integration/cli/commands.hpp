// The four commands of `lifehook`; main.cpp parses arguments into these options.
#pragma once

#include <lifehook/lifehook.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "manifest.hpp"

namespace lifehook_cli {

struct RunOptions {
  std::string file;
  std::string driver = "process";
  std::optional<double> grace_seconds;               // --grace; unset = the pod's terminationGracePeriodSeconds
  std::optional<std::chrono::milliseconds> run_for;  // --for
  std::vector<std::string> driver_options;           // --driver-option KEY=VALUE (pod options for the driver)
  std::string output = "table";                      // table | wide | json
  std::string state_dir;                             // --state-dir: each pod's state in DIR/<name>, adopted when there
  bool events = false;
  bool watch = false;  // --watch: apply FILE again when it changes (as on SIGHUP)
  int verbosity = 0;
};
int run_command(const RunOptions& options);

struct ValidateOptions {
  std::string file;
  std::string driver = "process";
  std::vector<std::string> driver_options;
  int verbosity = 0;
};
int validate_command(const ValidateOptions& options);

struct HandlerOptions {
  std::string file;
  std::string exec;
  std::string http;
  std::string tcp;
  std::string grpc;                    // --grpc PORT or HOST:PORT: grpc.health.v1.Health/Check
  std::optional<std::string> service;  // --service: the HealthCheckRequest's service (with --grpc)
  std::optional<double> sleep_seconds;
  std::optional<std::chrono::milliseconds> timeout;
  std::string netns;            // --netns: target.netns, the network namespace httpGet/tcpSocket/grpc connect from
  std::optional<int> pid;       // --pid: target.pid, a running container's init pid (exec inside it)
  std::string bundle;           // --bundle: target.bundle, its OCI bundle (user, caps, seccomp, env, cwd)
  std::string exec_mode;        // --exec-mode: target.execMode (host | container | runtime)
  std::string runtime_root;     // --runtime-root: target.runtimeRoot, the runtime's state dir (runtime mode)
  std::string output = "text";  // text | json
  int verbosity = 0;
};
int handler_command(const HandlerOptions& options);

int version_command();

// ---- shared by run and validate ----

// Loads FILE and validates every pod with the library (lifehook_pod_validate, for these pod
// options); prints every problem ("FILE:LINE: PATH: MESSAGE") and every warning ("FILE:LINE:
// warning: PATH: MESSAGE") to stderr. Returns false when there was any problem.
bool load_and_validate(lifehook_ctx* ctx, const std::string& file, const std::string& options_json,
                       LoadedManifests& out);

// Prints one library error about `pod`, with the YAML line of the JSON path it names.
void print_library_problem(const LoadedManifests& m, const PodManifest& pod, const std::string& message);

// {"driver": "...", KEY: VALUE...} for lifehook_pod_create, from --driver and --driver-option
// KEY=VALUE; nullopt (after printing why, naming the option) for a malformed or unknown option.
std::optional<std::string> pod_options_json(const std::string& driver, const std::vector<std::string>& driver_options);

}  // namespace lifehook_cli
