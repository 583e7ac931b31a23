// config.json process spec and seccomp profile parsing for container exec (no root needed).
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <sys/resource.h>

#include "plugin/common/errors.hpp"
#include "plugin/os/oci_config.hpp"
#include "plugin/os/oci_seccomp.hpp"

namespace lifehook {
namespace {

using nlohmann::json;

std::string invalid_message(const json& doc) {
  try {
    parse_oci_config(doc, "/b/config.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), LIFEHOOK_E_INVALID);
    return e.what();
  }
  return "(no error)";
}

TEST(OciConfig, ParsesTheProcessSpec) {
  json doc = json::parse(R"({
    "process": {
      "user": {"uid": 1000, "gid": 1001, "additionalGids": [5, 6], "umask": 18},
      "args": ["sh"], "env": ["PATH=/bin", "A=b=c"], "cwd": "/work",
      "capabilities": {"bounding": ["CAP_KILL", "CAP_NET_RAW"], "effective": ["CAP_KILL"],
                       "permitted": ["CAP_KILL"], "inheritable": [], "ambient": ["CAP_KILL"]},
      "noNewPrivileges": true,
      "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}],
      "oomScoreAdj": 500, "apparmorProfile": "p", "selinuxLabel": "l"
    }})");
  OciConfig c = parse_oci_config(doc, "/b/config.json");
  const OciProcess& p = c.process;
  EXPECT_EQ(p.uid, 1000u);
  EXPECT_EQ(p.gid, 1001u);
  EXPECT_EQ(p.additional_gids, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(p.umask, 18u);
  EXPECT_EQ(p.env, (std::vector<std::string>{"PATH=/bin", "A=b=c"}));
  EXPECT_EQ(p.cwd, "/work");
  EXPECT_EQ(p.capabilities.bounding, (1ull << 5) | (1ull << 13));
  EXPECT_EQ(p.capabilities.effective, 1ull << 5);
  EXPECT_EQ(p.capabilities.inheritable, 0u);
  EXPECT_EQ(p.capabilities.ambient, 1ull << 5);
  EXPECT_TRUE(p.no_new_privileges);
  ASSERT_EQ(p.rlimits.size(), 1u);
  EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(p.rlimits[0].soft, 100u);
  EXPECT_EQ(p.rlimits[0].hard, 200u);
  EXPECT_EQ(p.oom_score_adj, 500);
  EXPECT_EQ(p.apparmor_profile, "p");
  EXPECT_EQ(p.selinux_label, "l");
  EXPECT_FALSE(c.seccomp);
}

TEST(OciConfig, DefaultsAreRuncs) {
  OciConfig c = parse_oci_config(json::parse(R"({"process": {"args": ["true"]}})"), "f");
  EXPECT_EQ(c.process.uid, 0u);
  EXPECT_EQ(c.process.cwd, "/");
  // No capabilities object: runc drops everything.
  EXPECT_EQ(c.process.capabilities.bounding, 0u);
  EXPECT_FALSE(c.process.no_new_privileges);
}

TEST(OciConfig, UnknownCapabilityIsSkippedWithAWarning) {
  OciConfig c = parse_oci_config(
      json::parse(R"({"process": {"capabilities": {"bounding": ["CAP_KILL", "CAP_FROM_THE_FUTURE"]}}})"), "f");
  EXPECT_EQ(c.process.capabilities.bounding, 1ull << 5);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("CAP_FROM_THE_FUTURE"), std::string::npos);
}

TEST(OciConfig, ErrorsNameTheFileAndThePath) {
  EXPECT_EQ(invalid_message(json::parse(R"({"process": {"user": {"uid": -1}}})")),
            "/b/config.json: process.user.uid: must be an integer 0..4294967295 (got -1)");
  EXPECT_NE(invalid_message(json::parse(R"({})")).find("/b/config.json: process: is required"), std::string::npos);
  EXPECT_NE(invalid_message(json::parse(R"({"process": {"cwd": "rel"}})")).find("process.cwd"), std::string::npos);
  EXPECT_NE(invalid_message(json::parse(R"({"process": {"env": ["NOEQUALS"]}})")).find("process.env[0]"),
            std::string::npos);
  EXPECT_NE(invalid_message(json::parse(R"({"process": {"rlimits": [{"type": "RLIMIT_BOGUS"}]}})"))
                .find("process.rlimits[0].type"),
            std::string::npos);
  EXPECT_NE(invalid_message(json::parse(R"({"process": {}, "linux": {"seccomp": {"defaultAction": "SCMP_ACT_NOPE"}}})"))
                .find("linux.seccomp.defaultAction"),
            std::string::npos);
  EXPECT_NE(invalid_message(json::parse(R"({"process": {}, "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
              "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "op": "SCMP_CMP_EQ"}]}]}}})"))
                .find("linux.seccomp.syscalls[0].args[0].index"),
            std::string::npos);
  EXPECT_NE(invalid_message(json::parse(R"({"process": {}, "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
              "architectures": ["SCMP_ARCH_VAX"]}}})"))
                .find("linux.seccomp.architectures[0]"),
            std::string::npos);
}

TEST(OciSeccomp, CompilesAProfileToBpf) {
  OciConfig c = parse_oci_config(json::parse(R"({"process": {}, "linux": {"seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "syscalls": [
        {"names": ["read", "write", "exit_group", "no_such_call"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                                                                   {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
        {"names": ["openat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
      ]}}})"),
                                 "f");
  ASSERT_TRUE(c.seccomp);
  EXPECT_EQ(c.seccomp->default_action, SCMP_ACT_ERRNO(38));
  std::vector<std::string> warnings;
  SeccompProgram prog = compile_seccomp(*c.seccomp, "f: linux.seccomp", warnings);
  EXPECT_GT(prog.instructions.size(), 10u);
  EXPECT_LE(prog.instructions.size(), static_cast<size_t>(BPF_MAXINSNS));
  EXPECT_EQ(prog.fprog().len, prog.instructions.size());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("no_such_call"), std::string::npos);
}

}  // namespace
}  // namespace lifehook
