// `lifehook`: run a Pod manifest end to end, watch it like kubectl, validate manifests and run
// single handlers — through the public C ABI only. Argument parsing lives here; each command is
// in its own file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "commands.hpp"
#include "duration.hpp"
#include "library.hpp"

using namespace lifehook_cli;

namespace {

// CLI11 check for --for / --timeout values.
std::string check_duration(const std::string& text) {
  return parse_duration(text) ? std::string() : "must be a duration such as 30s, 1m30s, 500ms or 2.5 (seconds)";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lifehook — run Kubernetes pod lifecycles and lifecycle handlers on this machine"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  lifehook run examples/pod-hook-exec.yaml --for 10s\n"
      "  lifehook validate examples/pod-initcontainer.yaml\n"
      "  lifehook handler --http http://127.0.0.1:8080/healthz\n"
      "  lifehook version");
  int verbosity = 0;
  auto add_verbose = [&](CLI::App* cmd) {
    cmd->add_flag("-v,--verbose", verbosity, "more library logs on stderr (-v info, -vv debug, -vvv trace)");
  };

  RunOptions run;
  std::string run_for;
  CLI::App* run_cmd = app.add_subcommand("run", "run the Pods of a manifest and watch them like `kubectl get pod -w`");
  run_cmd
      ->add_option("FILE", run.file,
                   "Pod manifest, YAML or JSON (- for stdin; a List or several documents run side by side)")
      ->required();
  run_cmd->add_option("--driver", run.driver, "container driver")
      ->check(CLI::IsMember({"process", "oci"}))
      ->capture_default_str();
  const char* driver_option_help =
      "an option of the oci driver, repeatable: runtime=crun, root=DIR (its state root), rootfs=host|DIR, "
      "network=pod|host, seccomp=unconfined|default, execMode=container|runtime|host, stateDir=DIR";
  run_cmd->add_option("--driver-option", run.driver_options, driver_option_help)->type_name("KEY=VALUE");
  run_cmd
      ->add_option("--grace", run.grace_seconds,
                   "grace period in seconds for termination (default: the pod's "
                   "terminationGracePeriodSeconds)")
      ->check(check_grace_seconds);
  run_cmd->add_option("--for", run_for, "terminate gracefully after this long (30s, 2m, 500ms)")->check(check_duration);
  run_cmd->add_option("-o,--output", run.output, "table, wide (adds IP and DRIVER) or json (one status JSON per line)")
      ->check(CLI::IsMember({"table", "wide", "json"}))
      ->capture_default_str();
  run_cmd->add_flag("--events", run.events, "stream events as they happen and print the Events: table on exit");
  run_cmd
      ->add_option("--state-dir", run.state_dir,
                   "keep each pod's state in DIR/<pod name> (oci driver): if this process dies, its containers "
                   "run on, and running again with the same DIR resumes them (lifehook_pod_adopt)")
      ->type_name("DIR");
  run_cmd->add_flag("--watch", run.watch,
                    "apply FILE again whenever it changes (checked every second), as on SIGHUP: containers whose "
                    "definition changed are restarted");
  add_verbose(run_cmd);
  run_cmd->footer(
      "Ctrl-C or SIGTERM terminates gracefully (preStop, grace, SIGKILL at the deadline); a second Ctrl-C kills now.\n"
      "SIGHUP re-reads FILE and applies it to the running pods (lifehook_pod_update): a container whose definition\n"
      "changed is stopped with its hooks and grace and started again; what a running pod cannot change is refused.\n"
      "Exit status: 0 Succeeded or terminated on request, 1 Failed, 2 bad input.\n\n"
      "Examples:\n"
      "  lifehook run examples/pod-hook-exec.yaml --for 10s\n"
      "  lifehook run examples/pod-initcontainer.yaml --events\n"
      "  lifehook run examples/pod-hook-exec-oci.yaml --driver oci --driver-option seccomp=default\n"
      "  lifehook run examples/pod-hook-exec-oci.yaml --driver oci --state-dir /var/lib/lifehook/pods\n"
      "  kubectl create -o yaml --dry-run=client ... | lifehook run - -o json");

  ValidateOptions validate;
  CLI::App* validate_cmd =
      app.add_subcommand("validate", "check a manifest and print every problem with its field path");
  validate_cmd->add_option("FILE", validate.file, "Pod manifest, YAML or JSON (- for stdin)")->required();
  validate_cmd->add_option("--driver", validate.driver, "check for this driver")
      ->check(CLI::IsMember({"process", "oci"}))
      ->capture_default_str();
  validate_cmd->add_option("--driver-option", validate.driver_options, driver_option_help)->type_name("KEY=VALUE");
  add_verbose(validate_cmd);
  validate_cmd->footer(
      "Exit status: 0 valid, 2 problems found.\n\nExample:\n  lifehook validate examples/pod-grace.yaml");

  HandlerOptions handler;
  std::string timeout_text;
  CLI::App* handler_cmd = app.add_subcommand("handler", "run one lifecycle handler and print its outcome");
  handler_cmd->add_option("FILE", handler.file,
                          "a handler ({exec: ...}, {httpGet: ...}, ...) or a request ({handler: ..., target: ...})");
  handler_cmd->add_option("--exec", handler.exec, "command line to run (split like a shell, no expansion)");
  handler_cmd->add_option("--http", handler.http, "URL to GET, e.g. http://127.0.0.1:8080/healthz");
  handler_cmd->add_option("--tcp", handler.tcp, "HOST:PORT to connect to");
  handler_cmd->add_option("--grpc", handler.grpc,
                          "PORT or HOST:PORT (host default 127.0.0.1) to ask grpc.health.v1.Health/Check");
  handler_cmd->add_option("--service", handler.service, "with --grpc: the service to check (default: the server)");
  handler_cmd->add_option("--sleep", handler.sleep_seconds, "seconds to sleep")->check(CLI::NonNegativeNumber);
  handler_cmd->add_option("--timeout", timeout_text, "give up after this long (1s, 500ms)")->check(check_duration);
  handler_cmd->add_option(
      "--netns", handler.netns,
      "connect --http/--tcp/--grpc from this network namespace, e.g. /proc/PID/ns/net (a pod's 127.0.0.1)");
  handler_cmd->add_option("--pid", handler.pid, "run --exec inside the running container whose init has this host pid")
      ->check(CLI::PositiveNumber);
  handler_cmd->add_option("--bundle", handler.bundle,
                          "that container's OCI bundle directory: its config.json gives user, capabilities, seccomp, "
                          "rlimits, env and cwd (as `runc exec`)");
  handler_cmd
      ->add_option("--exec-mode", handler.exec_mode,
                   "how --exec runs: container (join its namespaces and cgroups; default with --pid), runtime "
                   "(`runc exec`), host")
      ->check(CLI::IsMember({"host", "container", "runtime"}));
  handler_cmd->add_option("--runtime-root", handler.runtime_root,
                          "with --exec-mode runtime: the runtime's state root (runc --root), e.g. /run/runc");
  handler_cmd->add_option("-o,--output", handler.output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  add_verbose(handler_cmd);
  handler_cmd->footer(
      "Exit status: 0 only when the handler succeeded (1 otherwise, 2 for bad input).\n\n"
      "Examples:\n"
      "  lifehook handler --exec 'sh -c \"echo hello\"'\n"
      "  lifehook handler --tcp 127.0.0.1:6379 --timeout 1s\n"
      "  lifehook handler --http http://127.0.0.1:8080/ -o json\n"
      "  lifehook handler --grpc 50051 --service my.Service --timeout 1s\n"
      "  lifehook handler --exec id --pid \"$(runc state web | jq .pid)\" --bundle /run/bundles/web");

  CLI::App* version_cmd = app.add_subcommand("version", "print the CLI, library and ABI versions");
  version_cmd->footer("Example:\n  lifehook version");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitBadInput;
  }

  try {
    run.verbosity = validate.verbosity = handler.verbosity = verbosity;
    if (*run_cmd) {
      if (!run_for.empty()) run.run_for = parse_duration(run_for);
      return run_command(run);
    }
    if (*validate_cmd) return validate_command(validate);
    if (*handler_cmd) {
      if (!timeout_text.empty()) handler.timeout = parse_duration(timeout_text);
      return handler_command(handler);
    }
    if (*version_cmd) return version_command();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lifehook: %s\n", e.what());
    return kExitFailed;
  }
  return kExitBadInput;
}
