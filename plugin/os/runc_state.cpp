#include "runc_state.hpp"

#include <cerrno>

#include "../common/bounded_json.hpp"
#include "../common/regular_file.hpp"

namespace lifehook {

namespace {

std::optional<int> init_pid_in(const std::string& path, const char* key, bool* missing) {
  std::string text;
  try {
    text = read_regular_file(path, kMaxRuncStateBytes);
  } catch (const FileReadError& e) {
    if (e.errno_value() == ENOENT || e.errno_value() == ENOTDIR) {
      if (missing) *missing = true;
      return std::nullopt;  // not written yet
    }
    throw;
  }
  try {
    nlohmann::json state = parse_bounded_json(text, JsonLimits{kMaxRuncStateBytes, kMaxJsonDepth});
    auto pid = state.find(key);  // end() for a document that is not an object
    if (pid == state.end() || !pid->is_number_integer()) return std::nullopt;
    long long value = pid->get<long long>();
    if (value <= 0 || value > (1 << 22)) return std::nullopt;  // pid_max is at most 2^22
    return static_cast<int>(value);
  } catch (const JsonInputError&) {
    return std::nullopt;  // incomplete: being written
  }
}

}  // namespace

std::optional<int> runc_init_pid(const std::string& path) { return init_pid_in(path, "init_process_pid", nullptr); }

std::optional<int> oci_init_pid(const std::string& dir) {
  bool missing = false;
  if (auto pid = init_pid_in(dir + "/state.json", "init_process_pid", &missing); pid || !missing) return pid;
  return init_pid_in(dir + "/status", "pid", nullptr);  // crun (libcrun/status.c)
}

}  // namespace lifehook
