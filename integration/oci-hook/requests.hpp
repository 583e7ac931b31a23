// Building lifehook_run requests for the hook's handlers: where each kind of handler runs
// (the runtime's namespaces, or inside the container for post-start exec) and how long it may take.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "annotations.hpp"
#include "oci_input.hpp"

namespace ocihook {

using json = nlohmann::json;

// PATH for host-side handlers: the hook's own, else the standard one (hooks.d may hand hooks an
// empty environment).
std::string host_path_env();
// A handler running in the runtime's namespaces: loopback as the default host, PATH only, cwd "/".
json host_target();
// Exec inside the container: its init pid and bundle, and the env and cwd of its process.
json container_target(const OciState& state, const BundleConfig* config);
json make_request(const HandlerEntry& entry, const json& target, double timeout_s, const char* purpose);
// Absolute path of `name` in host_path_env() or the standard directories; empty if not found.
std::string find_program(const std::string& name);

}  // namespace ocihook
