#include "nsenter_fallback.hpp"

#include <lifehook/lifehook.h>

#include "hook_error.hpp"
#include "requests.hpp"

namespace ocihook {

namespace {
bool mentions_unsupported(const std::string& s) {
  return s.find("not supported") != std::string::npos || s.find("unsupported") != std::string::npos;
}
}  // namespace

bool container_exec_unsupported(int status, const std::string& error, const std::string& outcome,
                                const std::string& message) {
  if (status == LIFEHOOK_E_UNSUPPORTED)
    return mentions_unsupported(error) && error.find("container") != std::string::npos;
  return status == LIFEHOOK_OK && outcome == "error" && mentions_unsupported(message) &&
         message.find("container") != std::string::npos;
}

HandlerEntry nsenter_entry(const HandlerEntry& exec_entry, const OciState& state, const BundleConfig* config) {
  std::string nsenter = find_program("nsenter");
  if (nsenter.empty())
    throw HookError(exec_entry.where +
                    ": exec inside the container needs nsenter (util-linux), which is not installed");
  json cmd = json::array({nsenter, "--target", std::to_string(state.pid), "--mount", "--uts", "--ipc", "--net", "--pid",
                          "--root", "--wd"});
  if (config && ((config->uid && *config->uid != 0) || (config->gid && *config->gid != 0))) {
    cmd.push_back("--setgid=" + std::to_string(config->gid.value_or(0)));
    cmd.push_back("--setuid=" + std::to_string(config->uid.value_or(0)));
  }
  cmd.push_back("--");
  for (const auto& a : exec_entry.handler["exec"]["command"]) cmd.push_back(a);
  HandlerEntry e = exec_entry;
  e.handler = {{"exec", {{"command", cmd}}}};
  return e;
}

json nsenter_target(const BundleConfig* config) {
  json t = host_target();
  if (config && !config->env.empty()) {
    json env = json::array();
    for (const auto& s : config->env) {
      auto eq = s.find('=');
      if (eq != std::string::npos && eq > 0) env.push_back({{"name", s.substr(0, eq)}, {"value", s.substr(eq + 1)}});
    }
    t["env"] = env;
  }
  return t;
}

}  // namespace ocihook
