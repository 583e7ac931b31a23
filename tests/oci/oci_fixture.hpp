// Real runc containers for tests: a bundle generator (busybox-static rootfs, config.json from
// `runc spec` defaults plus the options a test asks for) and a container that is run with a
// private runtime root and always killed, deleted and removed again (also when a test fails).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lifehook::testing {

// Why OCI tests cannot run here ("" when they can): not root, no runc, no busybox-static.
std::string oci_skip_reason();

// Skips a test, saying why, where runc cannot run (not root, no runc).
#define SKIP_WITHOUT_RUNC()                                                                          \
  do {                                                                                               \
    if (std::string why = ::lifehook::testing::oci_skip_reason(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)

// Runs a shell command line; returns its stdout (stderr goes to the test log). *rc gets the
// exit status when given.
std::string run_command(const std::string& cmdline, int* rc = nullptr);

struct BundleOptions {
  std::vector<std::string> args = {"sleep", "1000"};
  std::vector<std::string> env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  std::string cwd = "/";
  unsigned uid = 0;
  unsigned gid = 0;
  std::vector<unsigned> additional_gids;
  // Every set (bounding, effective, permitted, inheritable, ambient) gets this list; nullopt keeps
  // runc's default spec (AUDIT_WRITE, KILL, NET_BIND_SERVICE).
  std::optional<std::vector<std::string>> capabilities;
  bool no_new_privileges = true;
  nlohmann::json seccomp;        // null: none; else linux.seccomp
  nlohmann::json rlimits;        // null: runc's default (NOFILE 1024)
  bool user_namespace = false;   // run in a new user namespace mapping 0..65535 to 100000..
  std::string network_ns_path;   // join this network namespace instead of a new one
  nlohmann::json extra_process;  // merged into process (e.g. apparmorProfile)
};

// A bundle directory with rootfs/ (busybox + links, /etc/passwd, /etc/group) and config.json.
std::string make_bundle(const std::string& dir, const BundleOptions& opts);

// Private runtime state root shared by the tests of one test binary (removed at exit).
std::string test_runtime_root();

class RuncContainer {
 public:
  // Creates the bundle under a fresh directory and runs the container detached.
  explicit RuncContainer(const BundleOptions& opts = {});
  ~RuncContainer();  // runc kill -9, runc delete -f, rm -rf the bundle
  RuncContainer(const RuncContainer&) = delete;
  RuncContainer& operator=(const RuncContainer&) = delete;

  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  const std::string& id() const { return id_; }
  const std::string& bundle() const { return bundle_; }
  int pid() const { return pid_; }

  // `runc exec` of a command (argv), its stdout; *rc gets the exit status.
  std::string runc_exec(const std::vector<std::string>& argv, int* rc = nullptr) const;
  std::string runc(const std::string& args, int* rc = nullptr) const;

 private:
  std::string id_;
  std::string dir_;
  std::string bundle_;
  std::string error_;
  int pid_ = -1;
};

// Quotes for /bin/sh.
std::string shell_quote(const std::string& s);

}  // namespace lifehook::testing
