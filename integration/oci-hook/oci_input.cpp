#include "oci_input.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "../../plugin/common/bounded_json.hpp"
#include "../../plugin/common/regular_file.hpp"
#include "hook_error.hpp"

namespace ocihook {

namespace {

constexpr size_t kMaxStateBytes = 4 << 20;  // podman's state carries every annotation; still small
constexpr size_t kMaxConfigBytes = 16 << 20;

std::string short_text(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

}  // namespace

json parse_input_json(const std::string& text, const std::string& what, size_t max_bytes) {
  lifehook::JsonLimits limits;
  limits.max_bytes = max_bytes;
  try {
    return lifehook::parse_bounded_json(text, limits);
  } catch (const lifehook::JsonInputError& e) {
    if (e.kind() == lifehook::JsonInputError::Kind::Syntax) throw HookError(what + "not valid JSON: " + e.detail());
    throw HookError(what + (e.path().empty() ? "" : e.path() + ": ") + e.why());
  }
}

std::string read_state_text(int fd, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::string text;
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw HookError("state on stdin: not complete after " + std::to_string(limit.count() / 1000) +
                      " s (the runtime must write the OCI state and close stdin)");
    struct pollfd p {
      fd, POLLIN, 0
    };
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw HookError(std::string("state on stdin: poll: ") + std::strerror(errno));
    if (r == 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) throw HookError(std::string("state on stdin: read: ") + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxStateBytes) throw HookError("state on stdin: larger than 4 MiB");
  }
  return text;
}

OciState parse_state(const std::string& text) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw HookError("state on stdin: empty (expected the OCI state JSON)");
  json j = parse_input_json(text, "state on stdin: ", kMaxStateBytes);
  if (!j.is_object()) throw HookError("state on stdin: must be a JSON object, got " + short_text(j));
  OciState s;
  auto str = [&](const char* key) -> std::string {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    if (!it->is_string())
      throw HookError(std::string("state on stdin: ") + key + " must be a string, got " + short_text(*it));
    return it->get<std::string>();
  };
  s.id = str("id");
  s.status = str("status");
  s.bundle = str("bundle");
  if (s.bundle.empty()) s.bundle = str("bundlePath");
  if (auto it = j.find("pid"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 4194304)
      throw HookError("state on stdin: pid must be a process id, got " + short_text(*it));
    s.pid = static_cast<int>(it->get<int64_t>());
  }
  if (auto it = j.find("annotations"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw HookError("state on stdin: annotations must be an object, got " + short_text(*it));
    s.annotations = *it;
  }
  return s;
}

BundleConfig read_bundle_config(const std::string& bundle) {
  if (bundle.empty()) throw HookError("state on stdin: bundle is missing (needed to read config.json)");
  std::string path = bundle + "/config.json";
  // A FIFO without a writer must not block the hook (and with it the runtime's create), nor a
  // symlink to /dev/zero be read without end: only a regular file of bounded size is read.
  std::string text;
  try {
    text = lifehook::read_regular_file(path, kMaxConfigBytes);
  } catch (const lifehook::FileReadError& e) {
    throw HookError(e.what());
  }
  json j = parse_input_json(text, path + ": ", kMaxConfigBytes);
  if (!j.is_object()) throw HookError(path + ": must be a JSON object");
  BundleConfig c;
  if (auto it = j.find("annotations"); it != j.end() && it->is_object()) c.annotations = *it;
  if (auto it = j.find("hooks"); it != j.end() && it->is_object()) c.hooks = *it;
  if (auto p = j.find("process"); p != j.end() && p->is_object()) {
    if (auto e = p->find("env"); e != p->end() && e->is_array())
      for (const auto& v : *e)
        if (v.is_string()) c.env.push_back(v.get<std::string>());
    if (auto w = p->find("cwd"); w != p->end() && w->is_string()) c.cwd = w->get<std::string>();
    if (auto u = p->find("user"); u != p->end() && u->is_object()) {
      if (auto x = u->find("uid"); x != u->end() && x->is_number_unsigned()) c.uid = x->get<unsigned>();
      if (auto x = u->find("gid"); x != u->end() && x->is_number_unsigned()) c.gid = x->get<unsigned>();
    }
  }
  return c;
}

}  // namespace ocihook
