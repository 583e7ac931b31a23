#include "inject.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "../../plugin/common/regular_file.hpp"

namespace lifehook_runtime {
namespace fs = std::filesystem;
namespace {

constexpr const char* kEnvAnnotations = "LIFEHOOK_ANNOTATIONS=";
constexpr std::uintmax_t kMaxHookFileBytes = 64 * 1024;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Refuses a FIFO, a device or a file larger than `max_bytes` (FileReadError, a runtime_error).
json read_json_file(const fs::path& p, std::uintmax_t max_bytes) {
  std::string text = lifehook::read_regular_file(p.string(), max_bytes);
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) throw std::runtime_error(p.string() + ": not valid JSON");
  return j;
}

HookFile parse_hook_file(const fs::path& p) {
  json j = read_json_file(p, kMaxHookFileBytes);
  auto bad = [&](const std::string& what) { throw std::runtime_error(p.string() + ": " + what); };
  if (!j.is_object() || j.value("version", "") != "1.0.0") bad("version must be \"1.0.0\" (oci-hooks(5))");
  HookFile h;
  h.path = p.string();
  h.hook = j.value("hook", json());
  if (!h.hook.is_object() || !h.hook.contains("path") || !h.hook["path"].is_string() ||
      h.hook["path"].get<std::string>().empty() || h.hook["path"].get<std::string>()[0] != '/')
    bad("hook.path must be an absolute path");
  h.when = j.value("when", json());
  if (!h.when.is_object() || h.when.empty()) bad("when must hold at least one condition");
  const json& stages = j.value("stages", json());
  if (!stages.is_array() || stages.empty()) bad("stages must be a non-empty array");
  for (const auto& s : stages) {
    if (!s.is_string()) bad("stages must hold strings");
    // As containers/common: a hooks.d "prestart" hook is injected as createRuntime.
    h.stages.push_back(s == "prestart" ? "createRuntime" : s.get<std::string>());
  }
  return h;
}

// Go's regexp.MatchString as containers/common uses it: an unanchored search.
bool search(const std::string& pattern, const std::string& text, const std::string& where) {
  try {
    return std::regex_search(text, std::regex(pattern, std::regex::extended));
  } catch (const std::regex_error&) {
    throw std::runtime_error(where + ": bad regular expression \"" + pattern + "\"");
  }
}

// oci-hooks(5) "when", 1.0.0 semantics: every given condition must hold.
bool matches(const HookFile& h, const json& annotations, const json& config) {
  bool any = false;
  if (h.when.contains("always")) {
    if (!h.when["always"].is_boolean() || !h.when["always"].get<bool>()) return false;
    any = true;
  }
  if (h.when.contains("annotations")) {
    for (const auto& [key_re, value_re] : h.when["annotations"].items()) {
      bool found = false;
      for (const auto& [k, v] : annotations.items())
        if (v.is_string() && search(key_re, k, h.path) &&
            search(value_re.get<std::string>(), v.get<std::string>(), h.path))
          found = true;
      if (!found) return false;
    }
    any = true;
  }
  if (h.when.contains("commands")) {
    const json& args = config.contains("process") ? config["process"].value("args", json::array()) : json::array();
    std::string arg0 = args.is_array() && !args.empty() && args[0].is_string() ? args[0].get<std::string>() : "";
    bool found = false;
    for (const auto& re : h.when["commands"])
      if (re.is_string() && search(re.get<std::string>(), arg0, h.path)) found = true;
    if (!found) return false;
    any = true;
  }
  if (h.when.contains("hasBindMounts")) {
    bool has = false;
    for (const auto& m : config.value("mounts", json::array()))
      if (m.value("type", "") == "bind") has = true;
    if (h.when["hasBindMounts"].is_boolean() && h.when["hasBindMounts"].get<bool>() != has) return false;
    any = true;
  }
  return any;
}

// LIFEHOOK_ANNOTATIONS={"lifehook.io/wait-for": "..."} in process.env -> annotations.
bool move_env_annotations(json& config, json& annotations) {
  if (!config.contains("process") || !config["process"].is_object()) return false;
  json& env = config["process"]["env"];
  if (!env.is_array()) return false;
  bool moved = false;
  for (auto it = env.begin(); it != env.end();) {
    if (!it->is_string() || it->get<std::string>().rfind(kEnvAnnotations, 0) != 0) {
      ++it;
      continue;
    }
    std::string text = it->get<std::string>().substr(std::char_traits<char>::length(kEnvAnnotations));
    json extra = json::parse(text, nullptr, false);
    if (extra.is_discarded() || !extra.is_object())
      throw std::runtime_error("process.env LIFEHOOK_ANNOTATIONS: must be a JSON object of annotations, got " +
                               text.substr(0, 200));
    for (const auto& [k, v] : extra.items()) {
      if (!v.is_string())
        throw std::runtime_error("process.env LIFEHOOK_ANNOTATIONS: \"" + k +
                                 "\" must be a string (annotation values are strings; JSON goes inside one)");
      if (!annotations.contains(k)) annotations[k] = v;
    }
    it = env.erase(it);
    moved = true;
  }
  return moved;
}

}  // namespace

std::vector<HookFile> load_hook_files(const std::vector<std::string>& dirs) {
  std::map<std::string, fs::path> by_name;  // later directories mask earlier ones
  for (const auto& d : dirs) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) continue;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      std::string name = e.path().filename().string();
      if (name.rfind("lifehook", 0) == 0 && e.path().extension() == ".json") by_name[name] = e.path();
    }
  }
  std::vector<std::pair<std::string, fs::path>> sorted(by_name.begin(), by_name.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return lower(a.first) < lower(b.first); });
  std::vector<HookFile> out;
  for (const auto& [name, path] : sorted) out.push_back(parse_hook_file(path));
  return out;
}

InjectResult inject_hooks(json& config, const std::vector<HookFile>& hooks) {
  InjectResult r;
  if (!config.is_object()) throw std::runtime_error("config.json: must be a JSON object");
  if (config.contains("annotations") && !config["annotations"].is_object())
    throw std::runtime_error("config.json annotations: must be an object");
  json annotations = config.value("annotations", json::object());
  if (move_env_annotations(config, annotations)) {
    config["annotations"] = annotations;
    r.changed = true;
  }
  if (config.contains("hooks") && !config["hooks"].is_object())
    throw std::runtime_error("config.json hooks: must be an object");
  for (const auto& h : hooks) {
    if (!matches(h, annotations, config)) continue;
    for (const auto& stage : h.stages) {
      json& list = config["hooks"][stage];
      if (list.is_null()) list = json::array();
      if (!list.is_array()) throw std::runtime_error("config.json hooks." + stage + ": must be an array");
      bool present = std::any_of(list.begin(), list.end(), [&](const json& e) {
        return e.is_object() && e.value("path", "") == h.hook["path"] &&
               e.value("args", json::array()) == h.hook.value("args", json::array());
      });
      if (present) continue;
      list.push_back(h.hook);
      r.added.push_back(stage + ": " + h.hook["path"].get<std::string>());
      r.changed = true;
    }
  }
  return r;
}

}  // namespace lifehook_runtime
