#include "oci_monitor.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "../common/errors.hpp"
#include "../os/state_file.hpp"

namespace lifehook::drivers {

std::string find_monitor(const std::string& configured) {
  if (!configured.empty()) {
    if (::access(configured.c_str(), X_OK) != 0)
      throw_invalid("options.monitor", "is not an executable file", configured);
    return configured;
  }
  for (const char* candidate : {LIFEHOOK_MONITOR_INSTALLED, LIFEHOOK_MONITOR_BUILT})
    if (::access(candidate, X_OK) == 0) return candidate;
  throw Error(LIFEHOOK_E_SYSTEM, std::string("oci driver: no lifehook-monitor (looked for ") +
                                     LIFEHOOK_MONITOR_INSTALLED + " and " + LIFEHOOK_MONITOR_BUILT +
                                     "; options.monitor names another)");
}

std::vector<std::string> monitor_argv(const std::string& monitor, const std::string& exit_file,
                                      const std::vector<std::string>& runtime_argv) {
  std::vector<std::string> argv{monitor, exit_file, "--"};
  argv.insert(argv.end(), runtime_argv.begin(), runtime_argv.end());
  return argv;
}

std::optional<ExitRecord> read_exit_record(const std::string& path) {
  std::optional<std::string> text;
  try {
    text = read_file_if_exists(path, 4096);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!text) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto num = [&](const char* key) -> std::optional<int64_t> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };
  auto code = num("exitCode"), sig = num("signal"), at = num("finishedAtMs");
  if (!code || !sig || !at || *code < 0 || *code > 255 || *sig < 0 || *sig > 64) return std::nullopt;
  return ExitRecord{static_cast<int>(*code), static_cast<int>(*sig), *at};
}

}  // namespace lifehook::drivers
