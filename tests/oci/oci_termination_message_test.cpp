// Termination messages on runc containers: the oci driver bind-mounts a fresh file of the bundle
// at terminationMessagePath (inside the container's own /dev as the kubelet does), reads it after
// the exit, and FallbackToLogsOnError reads the end of the container's log; the node e2e cases of
// test/e2e/common/node/runtime.go ("should report termination message ...").
#include <gtest/gtest.h>

#include "oci_pod_fixture.hpp"

namespace lifehook::testing {
namespace {

using json = nlohmann::json;
using podtest::container;
using podtest::pod_json;

TEST(OciTerminationMessage, FileAndFallbackToLogs) {
  SKIP_WITHOUT_RUNC();
  OciPodDirs dirs;
  const std::string name = "ocipod-tmsg";
  {
    podtest::Ctx c;
    json deflt = container("deflt", "printf OK > /dev/termination-log");
    json custom = container("custom", "printf DONE > /tmp/custom-log; exit 3");
    custom["terminationMessagePath"] = "/tmp/custom-log";
    custom["securityContext"] = {{"runAsUser", 1000}};  // the file is writable by any user
    json logs = container("logs", "echo first; printf DONE; exit 1");
    logs["terminationMessagePolicy"] = "FallbackToLogsOnError";
    json ok = container("ok", "echo out; exit 0");
    ok["terminationMessagePolicy"] = "FallbackToLogsOnError";
    podtest::Pod pod(
        c.ctx, pod_json(name, json::array({deflt, custom, logs, ok}), json::array(), {{"restartPolicy", "Never"}}),
        dirs.options());
    ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
    ASSERT_EQ(lifehook_pod_wait(pod.pod, 30000), LIFEHOOK_OK);
    json s = pod.status()["containerStatuses"];
    EXPECT_EQ(s[0]["state"]["terminated"]["message"], "OK") << s[0];
    EXPECT_EQ(s[1]["state"]["terminated"]["message"], "DONE") << s[1];
    EXPECT_EQ(s[2]["state"]["terminated"]["message"], "first\nDONE") << s[2];
    EXPECT_FALSE(s[3]["state"]["terminated"].contains("message")) << s[3];
  }
  EXPECT_EQ(dirs.leftovers(name), "");
}

}  // namespace
}  // namespace lifehook::testing
