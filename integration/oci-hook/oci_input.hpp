// What the runtime gives the hook: the OCI state on stdin and the bundle's config.json.
// Parsing is lenient where real runtimes deviate from the spec (crun: pid 0 and status
// "starting"; old runtimes: "bundlePath"; extra keys) and strict where the hook cannot work.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ocihook {

using json = nlohmann::json;

struct OciState {
  std::string id;
  std::string status;
  int pid = 0;         // 0: not given (crun sends 0 for some stages)
  std::string bundle;  // "bundle" or legacy "bundlePath"; may be empty
  json annotations = json::object();
};

// The parts of config.json the hook uses.
struct BundleConfig {
  json annotations = json::object();
  std::vector<std::string> env;  // process.env, "K=V"
  std::string cwd;               // process.cwd
  std::optional<unsigned> uid, gid;
  json hooks = json::object();
};

// Every JSON document the hook reads (state, config.json, annotation values) is bounded in size
// and nesting and may not repeat a key (plugin/common/bounded_json.hpp). Throws HookError:
// "<what>not valid JSON: ..." or "<what><path>: nested deeper than 64 levels (the limit)".
json parse_input_json(const std::string& text, const std::string& what, size_t max_bytes);

// Reads stdin to EOF (bounded in size and time). Throws HookError.
std::string read_state_text(int fd, std::chrono::milliseconds limit);
// Throws HookError naming the field: "state on stdin: ...".
OciState parse_state(const std::string& text);
// Throws HookError: "<bundle>/config.json: ...".
BundleConfig read_bundle_config(const std::string& bundle);

}  // namespace ocihook
