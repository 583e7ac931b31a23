#include "requests.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace ocihook {

namespace {
constexpr const char* kStandardPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

json env_list(const std::vector<std::string>& kv) {
  json list = json::array();
  for (const auto& s : kv) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    list.push_back({{"name", s.substr(0, eq)}, {"value", s.substr(eq + 1)}});
  }
  return list;
}
}  // namespace

std::string host_path_env() {
  const char* p = std::getenv("PATH");
  return p && *p ? p : kStandardPath;
}

json host_target() {
  return {{"podIP", kDefaultHost},
          {"execMode", "host"},
          {"workingDir", "/"},
          {"env", env_list({"PATH=" + host_path_env()})}};
}

json container_target(const OciState& state, const BundleConfig* config) {
  json t = {{"podIP", kDefaultHost}, {"execMode", "container"}, {"pid", state.pid}};
  if (!state.bundle.empty()) t["bundle"] = state.bundle;
  if (config) {
    t["env"] = env_list(config->env);
    if (!config->cwd.empty()) t["workingDir"] = config->cwd;
  }
  return t;
}

json make_request(const HandlerEntry& entry, const json& target, double timeout_s, const char* purpose) {
  return {{"handler", entry.handler},
          {"target", target},
          {"timeoutMs", std::max<int64_t>(1, static_cast<int64_t>(std::llround(timeout_s * 1000.0)))},
          {"purpose", purpose}};
}

std::string find_program(const std::string& name) {
  std::stringstream dirs(host_path_env() + ":" + kStandardPath);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty() || dir[0] != '/') continue;
    std::string p = dir + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

}  // namespace ocihook
