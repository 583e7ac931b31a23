// lifehook-runtime: an OCI runtime wrapper (the nvidia-container-runtime pattern) for Docker and
// containerd, which have no hooks.d. On `create` and `run` it adds lifehook's OCI hooks to the bundle's
// config.json when the container has lifehook.io/* annotations (or LIFEHOOK_ANNOTATIONS in its
// environment, for Docker 20.10 which cannot set annotations), then execs the real runtime (runc by
// default) with the same arguments. Every other verb goes straight through. See lifehook-runtime(8).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "arguments.hpp"
#include "inject.hpp"

#ifndef LIFEHOOK_RUNTIME_HOOKS_DIRS
#define LIFEHOOK_RUNTIME_HOOKS_DIRS "/usr/share/containers/oci/hooks.d:/etc/containers/oci/hooks.d"
#endif

namespace {

using lifehook_runtime::json;
constexpr size_t kMaxConfigBytes = 16 * 1024 * 1024;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);)
    if (!part.empty()) out.push_back(part);
  return out;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// PATH lookup as execvp does, so the wrapper can refuse to exec itself.
std::string resolve(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  for (const auto& dir : split(env_or("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), ':')) {
    std::string p = dir + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

bool same_file(const std::string& a, const char* b) {
  struct stat sa {
  }, sb{};
  return stat(a.c_str(), &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The runtime's --log file gets the error too, in its --log-format: containerd and Docker report the
// last error line of that file (go-runc), which is what `docker run` prints.
void report(const lifehook_runtime::Invocation& inv, const std::string& message) {
  std::fprintf(stderr, "lifehook-runtime: %s\n", message.c_str());
  std::string log, format = "text";
  const auto& a = inv.runtime_args;
  size_t end = inv.verb ? *inv.verb : a.size();
  for (size_t i = 0; i < end; ++i) {
    if (a[i] == "--log" && i + 1 < end)
      log = a[i + 1];
    else if (a[i].rfind("--log=", 0) == 0)
      log = a[i].substr(6);
    else if (a[i] == "--log-format" && i + 1 < end)
      format = a[i + 1];
    else if (a[i].rfind("--log-format=", 0) == 0)
      format = a[i].substr(13);
  }
  if (log.empty()) return;
  int fd = open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  char stamp[64];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::string line = format == "json"
                         ? json{{"level", "error"}, {"msg", "lifehook-runtime: " + message}, {"time", stamp}}.dump()
                         : std::string(stamp) + " error lifehook-runtime: " + message;
  line += "\n";
  ssize_t ignored = write(fd, line.data(), line.size());
  (void)ignored;
  close(fd);
}

std::string read_config(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    throw std::runtime_error(path + ": not a regular file");
  }
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || text.size() + n > kMaxConfigBytes) {
      close(fd);
      throw std::runtime_error(path + (n < 0 ? ": " + std::string(std::strerror(errno)) : ": larger than 16 MiB"));
    }
    text.append(buf, n);
  }
  close(fd);
  return text;
}

// Written next to the original and renamed over it: the runtime never reads a half-written file.
void write_config(const std::string& path, const std::string& text) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw std::runtime_error(path + ": " + std::strerror(errno));
  std::string tmp = path + ".lifehook-XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": cannot create a temporary file: " + std::strerror(errno));
  bool ok = fchmod(fd, st.st_mode & 07777) == 0;
  for (size_t off = 0; ok && off < text.size();) {
    ssize_t n = write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) off += n;
  }
  ok = ok && fsync(fd) == 0;
  int saved = errno;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    saved = ok ? errno : saved;
    unlink(tmp.c_str());
    throw std::runtime_error(path + ": cannot write: " + std::strerror(saved));
  }
}

void add_hooks(const lifehook_runtime::Invocation& inv, const std::string& hooks_dirs) {
  std::string bundle = inv.bundle.empty() ? "." : inv.bundle;
  std::string path = bundle + "/config.json";
  json config = json::parse(read_config(path), nullptr, false);
  if (config.is_discarded()) throw std::runtime_error(path + ": not valid JSON");
  auto hooks = lifehook_runtime::load_hook_files(split(hooks_dirs, ':'));
  auto result = lifehook_runtime::inject_hooks(config, hooks);
  if (result.changed) write_config(path, config.dump(2));
  if (std::getenv("LIFEHOOK_RUNTIME_DEBUG"))
    for (const auto& a : result.added) std::fprintf(stderr, "lifehook-runtime: added %s\n", a.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  lifehook_runtime::Invocation inv;
  try {
    inv = lifehook_runtime::parse_invocation(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lifehook-runtime: %s\n", e.what());
    return 2;
  }
  std::string runtime = inv.runtime.empty() ? env_or("LIFEHOOK_RUNTIME", "runc") : inv.runtime;
  std::string path = resolve(runtime);
  if (path.empty()) {
    report(inv, "runtime \"" + runtime + "\" not found in PATH (set LIFEHOOK_RUNTIME or --lifehook-runtime)");
    return 127;
  }
  if (same_file(path, "/proc/self/exe")) {
    report(inv, "the runtime to run is lifehook-runtime itself (" + path + "); name the real one (runc, crun)");
    return 2;
  }
  if (lifehook_runtime::creates_container(inv)) {
    try {
      add_hooks(inv,
                inv.hooks_dirs.empty() ? env_or("LIFEHOOK_HOOKS_DIR", LIFEHOOK_RUNTIME_HOOKS_DIRS) : inv.hooks_dirs);
    } catch (const std::exception& e) {
      report(inv, e.what());
      return 1;
    }
  }
  std::vector<char*> args;
  args.push_back(const_cast<char*>(runtime.c_str()));
  for (auto& a : inv.runtime_args) args.push_back(a.data());
  args.push_back(nullptr);
  execv(path.c_str(), args.data());
  report(inv, "cannot run " + path + ": " + std::strerror(errno));
  return 127;
}
