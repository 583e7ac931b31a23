#include "pod_checks.hpp"

#include <map>

namespace lifehook_cli {

std::vector<Problem> check_distinct_pod_names(const std::vector<PodManifest>& pods) {
  std::vector<Problem> problems;
  std::map<std::string, std::string> seen;
  for (const auto& p : pods) {
    if (p.name.empty()) continue;
    std::string path = p.root_path.empty() ? "metadata.name" : p.root_path + ".metadata.name";
    auto [it, fresh] = seen.emplace(p.name, path);
    if (!fresh)
      problems.push_back({path, p.lines ? p.lines->line_of(path) : 0,
                          "duplicate pod name " + value_text(p.name) + " (also " + it->second + ")"});
  }
  return problems;
}

}  // namespace lifehook_cli
