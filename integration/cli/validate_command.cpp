// `lifehook validate FILE`: every structural problem with its path and line, then the library's
// own verdict (the pod is created, never started, and destroyed).
#include <algorithm>
#include <cstdio>
#include <regex>

#include "commands.hpp"
#include "library.hpp"
#include "pod_checks.hpp"

namespace lifehook_cli {
namespace {

void print_problem(const std::string& source, const Problem& p) {
  std::string where = source;
  if (p.line > 0) where += ":" + std::to_string(p.line);
  if (p.path.empty()) std::fprintf(stderr, "%s: %s\n", where.c_str(), p.message.c_str());
  else std::fprintf(stderr, "%s: %s: %s\n", where.c_str(), p.path.c_str(), p.message.c_str());
}

}  // namespace

std::optional<std::string> pod_options_json(const std::string& driver, const std::vector<std::string>& driver_options) {
  // The oci driver's options (docs/cli.md); the process driver has none. The library checks the values.
  static const std::vector<std::string> kOciKeys = {"runtime", "root", "stateDir", "rootfs", "network", "seccomp", "execMode"};
  json options = {{"driver", driver}};
  for (const std::string& kv : driver_options) {
    auto eq = kv.find('=');
    std::string key = kv.substr(0, eq);
    if (eq == std::string::npos || key.empty()) {
      std::fprintf(stderr, "lifehook: --driver-option must be KEY=VALUE (got \"%s\")\n", kv.c_str());
      return std::nullopt;
    }
    if (driver != "oci" || std::find(kOciKeys.begin(), kOciKeys.end(), key) == kOciKeys.end()) {
      std::string known;
      for (const auto& k : kOciKeys) known += (known.empty() ? "" : ", ") + k;
      std::fprintf(stderr, "lifehook: --driver-option %s: driver %s has no option \"%s\"%s\n", kv.c_str(),
                   driver.c_str(), key.c_str(), driver == "oci" ? (" (known: " + known + ")").c_str() : " (it takes none)");
      return std::nullopt;
    }
    options[key] = kv.substr(eq + 1);
  }
  return options.dump();
}

bool load_and_check(const std::string& file, const std::string& driver, LoadedManifests& out) {
  out = load_manifests(file);
  std::vector<Problem> problems = out.problems;
  CheckOptions options;
  options.driver = driver;
  for (const auto& pod : out.pods) {
    auto more = check_pod(pod, options);
    problems.insert(problems.end(), more.begin(), more.end());
  }
  auto names = check_distinct_pod_names(out.pods);
  problems.insert(problems.end(), names.begin(), names.end());
  for (const auto& p : problems) print_problem(out.source, p);
  if (problems.size() > 1) std::fprintf(stderr, "%s: %zu problems\n", out.source.c_str(), problems.size());
  return problems.empty();
}

void print_library_problem(const LoadedManifests& m, const PodManifest& pod, const std::string& message) {
  // The library's messages start with the JSON path ("spec.containers[0].name: ..."); find its line.
  static const std::regex path_re(R"(^([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*): )");
  std::smatch match;
  Problem p;
  p.message = message;
  if (message.rfind("options.", 0) == 0) {
    // Not the manifest: the options the CLI passed (e.g. a driver the library does not have).
    std::fprintf(stderr, "lifehook: cannot create pod %s: %s\n", pod.name.c_str(), message.c_str());
    return;
  }
  if (std::regex_search(message, match, path_re)) {
    std::string path = match[1];
    if (path.rfind("pod.", 0) == 0) path = path.substr(4);
    if (!pod.root_path.empty()) path = pod.root_path + "." + path;
    p.path = path;
    p.message = message.substr(match[0].length());
    p.line = pod.lines ? pod.lines->line_of(path) : 0;
  } else if (!pod.root_path.empty()) {
    p.path = pod.root_path;
  }
  print_problem(m.source, p);
}

int validate_command(const ValidateOptions& options) {
  LoadedManifests m;
  if (!load_and_check(options.file, options.driver, m)) return kExitBadInput;

  CtxPtr ctx = make_context(options.verbosity);
  if (!ctx) return kExitFailed;
  bool ok = true;
  std::optional<std::string> options_json = pod_options_json(options.driver, options.driver_options);
  if (!options_json) return kExitBadInput;
  const std::string& opts = *options_json;
  for (const auto& pod : m.pods) {
    lifehook_pod* raw = nullptr;
    LibString error;
    std::string text = pod.pod.dump();
    int rc = lifehook_pod_create(ctx.get(), text.c_str(), opts.c_str(), nullptr, &raw, error.out());
    PodPtr guard(raw);
    if (rc != LIFEHOOK_OK) {
      ok = false;
      print_library_problem(m, pod, rc == LIFEHOOK_E_INVALID ? error.str() : describe_failure(rc, error));
    }
  }
  if (!ok) return kExitBadInput;
  std::printf("%s: valid (%zu pod%s:", m.source.c_str(), m.pods.size(), m.pods.size() == 1 ? "" : "s");
  for (const auto& pod : m.pods) std::printf(" %s", pod.name.c_str());
  std::printf(")\n");
  return kExitOk;
}

}  // namespace lifehook_cli
