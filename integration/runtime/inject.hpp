// Adding lifehook's OCI hooks to a bundle's config.json: the hooks come from the lifehook-*.json files of
// the hooks.d directories (oci-hooks(5), the files podman and CRI-O use), so the hook's path, args, env
// and an administrator's timeout have one home. A container gets them when its annotations match the
// file's "when" (lifehook.io/* annotations); for Docker 20.10, which cannot set annotations, the
// annotations may come from the container's LIFEHOOK_ANNOTATIONS environment variable (a JSON object).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lifehook_runtime {

using json = nlohmann::json;

struct HookFile {
  std::string path;  // for messages
  json hook;         // the OCI hook: path, args, env, timeout
  std::vector<std::string> stages;
  json when;
};

// The lifehook-*.json files of dirs (later directories mask earlier ones by file name, as
// /etc/containers/oci/hooks.d masks /usr/share/containers/oci/hooks.d), sorted by name,
// case-insensitively. Throws std::runtime_error naming the file for a bad one.
std::vector<HookFile> load_hook_files(const std::vector<std::string>& dirs);

struct InjectResult {
  bool changed = false;
  std::vector<std::string> added;  // "stage: path" of each hook added
};

// Moves LIFEHOOK_ANNOTATIONS from process.env into annotations (existing annotations win), then adds
// each matching hook to config["hooks"][stage] unless the same path and args are already there.
// Throws std::runtime_error naming the config field for bad input.
InjectResult inject_hooks(json& config, const std::vector<HookFile>& hooks);

}  // namespace lifehook_runtime
