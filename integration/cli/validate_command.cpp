// `lifehook validate FILE`: the library's verdict (lifehook_pod_validate) on every pod of FILE:
// every problem and every warning (a field nothing implements) with its path and YAML line.
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
  if (p.path.empty())
    std::fprintf(stderr, "%s: %s\n", where.c_str(), p.message.c_str());
  else
    std::fprintf(stderr, "%s: %s: %s\n", where.c_str(), p.path.c_str(), p.message.c_str());
}

}  // namespace

std::optional<std::string> pod_options_json(const std::string& driver, const std::vector<std::string>& driver_options) {
  // The oci driver's options (docs/cli.md); the process driver has none. The library checks the values.
  static const std::vector<std::string> kOciKeys = {"runtime", "root",    "stateDir", "rootfs",
                                                    "network", "seccomp", "execMode", "monitor"};
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
                   driver.c_str(), key.c_str(),
                   driver == "oci" ? (" (known: " + known + ")").c_str() : " (it takes none)");
      return std::nullopt;
    }
    options[key] = kv.substr(eq + 1);
  }
  return options.dump();
}

namespace {

// A library path ("spec.containers[0].name", "pod" for the document) as a Problem of this manifest.
Problem at_path(const PodManifest& pod, const std::string& path, const std::string& message) {
  Problem p;
  p.message = message;
  std::string full = path == "pod" ? "" : path;
  if (!pod.root_path.empty()) full = full.empty() ? pod.root_path : pod.root_path + "." + full;
  p.path = full;
  p.line = pod.lines ? pod.lines->line_of(full) : 0;
  return p;
}

void print_warning(const std::string& source, const Problem& p) {
  std::string where = source;
  if (p.line > 0) where += ":" + std::to_string(p.line);
  std::fprintf(stderr, "%s: warning: %s: %s\n", where.c_str(), p.path.c_str(), p.message.c_str());
}

}  // namespace

bool load_and_validate(lifehook_ctx* ctx, const std::string& file, const std::string& options_json,
                       LoadedManifests& out) {
  out = load_manifests(file);
  std::vector<Problem> problems = out.problems;
  std::vector<Problem> warnings;
  for (const auto& pod : out.pods) {
    // The library is the one validator: every problem and every ignored field, with its path.
    LibString report;
    std::string text = pod.pod.dump();
    int rc = lifehook_pod_validate(ctx, text.c_str(), options_json.c_str(), nullptr, report.out());
    json r = report.empty() ? json() : json::parse(report.str(), nullptr, false);
    if (!r.is_object()) {
      problems.push_back(at_path(pod, "pod", "cannot be validated: " + std::string(lifehook_status_name(rc))));
      continue;
    }
    for (const auto& f : r.value("problems", json::array())) {
      std::string path = f.value("path", "");
      if (path.rfind("options.", 0) == 0) {
        // Not the manifest: the options the CLI passed (--driver, --driver-option).
        std::fprintf(stderr, "lifehook: %s: %s\n", path.c_str(), f.value("message", "").c_str());
        return false;
      }
      problems.push_back(at_path(pod, path, f.value("message", "")));
    }
    for (const auto& f : r.value("warnings", json::array()))
      warnings.push_back(at_path(pod, f.value("path", ""), f.value("message", "")));
  }
  auto names = check_distinct_pod_names(out.pods);
  problems.insert(problems.end(), names.begin(), names.end());
  for (const auto& p : problems) print_problem(out.source, p);
  if (problems.size() > 1) std::fprintf(stderr, "%s: %zu problems\n", out.source.c_str(), problems.size());
  for (const auto& w : warnings) print_warning(out.source, w);
  return problems.empty();
}

void print_library_problem(const LoadedManifests& m, const PodManifest& pod, const std::string& message) {
  // The library's messages start with the JSON path ("spec.containers[0].name: ..."); find its line.
  static const std::regex path_re(R"(^([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*): )");
  std::smatch match;
  if (message.rfind("options.", 0) == 0) {
    // Not the manifest: the options the CLI passed (e.g. a driver the library does not have).
    std::fprintf(stderr, "lifehook: cannot create pod %s: %s\n", pod.name.c_str(), message.c_str());
    return;
  }
  if (std::regex_search(message, match, path_re))
    print_problem(m.source, at_path(pod, match[1], message.substr(match[0].length())));
  else
    print_problem(m.source, at_path(pod, "pod", message));
}

int validate_command(const ValidateOptions& options) {
  std::optional<std::string> options_json = pod_options_json(options.driver, options.driver_options);
  if (!options_json) return kExitBadInput;
  CtxPtr ctx = make_context(options.verbosity);
  if (!ctx) return kExitFailed;
  LoadedManifests m;
  if (!load_and_validate(ctx.get(), options.file, *options_json, m)) return kExitBadInput;
  std::printf("%s: valid (%zu pod%s:", m.source.c_str(), m.pods.size(), m.pods.size() == 1 ? "" : "s");
  for (const auto& pod : m.pods) std::printf(" %s", pod.name.c_str());
  std::printf(")\n");
  return kExitOk;
}

}  // namespace lifehook_cli
