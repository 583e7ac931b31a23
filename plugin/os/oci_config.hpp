// The parts of an OCI bundle's config.json (runtime-spec) that decide what a process started in
// the container may do: the `process` object (user, capabilities, no_new_privs, rlimits, env,
// cwd, umask, oom score, LSM labels) and `linux.seccomp`. `runc exec` gives an exec'd process
// exactly these, so container_exec.cpp applies the same ones to reach the same result.
//
// Parsing is strict where runc is strict (types, ranges) and lenient where runc is lenient
// (an unknown capability name or syscall name is skipped with a warning, as runc does).
// Every error names the file and the JSON path, e.g.
//   "/b/config.json: process.user.uid: must be an integer 0..4294967295 (got -1)".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lifehook {

// Capability sets as bit masks (bit n = capability number n, as in /proc/<pid>/status).
struct OciCapabilities {
  uint64_t bounding = 0;
  uint64_t effective = 0;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
  uint64_t ambient = 0;
};

struct OciRlimit {
  int resource = 0;  // RLIMIT_*
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// One argument comparison of a seccomp rule (runtime-spec LinuxSeccompArg).
struct OciSeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  int op = 0;  // enum scmp_compare
};

struct OciSeccompRule {
  std::vector<std::string> names;
  uint32_t action = 0;  // libseccomp action, errno/trace data folded in
  std::vector<OciSeccompArg> args;
};

struct OciSeccomp {
  uint32_t default_action = 0;
  std::vector<uint32_t> architectures;  // libseccomp SCMP_ARCH_* tokens
  unsigned filter_flags = 0;            // SECCOMP_FILTER_FLAG_* for the seccomp(2) call
  std::vector<OciSeccompRule> rules;
};

struct OciProcess {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::optional<uint32_t> umask;
  std::vector<std::string> args;
  std::vector<std::string> env;  // "NAME=value"
  std::string cwd = "/";
  OciCapabilities capabilities;  // all empty when config.json has none (runc drops everything then)
  bool no_new_privileges = false;
  std::vector<OciRlimit> rlimits;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile;
  std::string selinux_label;
};

struct OciConfig {
  std::string file;  // the config.json path it came from (for messages)
  OciProcess process;
  std::optional<OciSeccomp> seccomp;
  std::vector<std::string> warnings;  // what was skipped while parsing (unknown names, ...)
};

// Reads and parses <bundle>/config.json. Throws Error(LIFEHOOK_E_INVALID) naming the file and the
// JSON path, Error(LIFEHOOK_E_NOT_FOUND)-style system errors when the file cannot be read.
OciConfig load_oci_config(const std::string& bundle_dir);
OciConfig parse_oci_config(const nlohmann::json& doc, const std::string& file);

// "CAP_NET_ADMIN" -> 12; -1 when unknown. Capability numbers are those of linux/capability.h.
int capability_number(const std::string& name);
// RLIMIT_* by name ("RLIMIT_NOFILE"); -1 when unknown.
int rlimit_number(const std::string& name);

}  // namespace lifehook
