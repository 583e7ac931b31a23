// Termination messages with the process driver and real processes: terminationMessagePath is a
// host path (relative to workingDir), a file left by an earlier run does not count, and
// FallbackToLogsOnError takes the end of the output of a failed container.
#include <sys/stat.h>
#include <time.h>

#include <filesystem>

#include "unit/pod_test_util.hpp"

using namespace podtest;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/lh-tmsg-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

TEST(PodTerminationMessage, ProcessDriverFileAndFallback) {
  TempDir dir;
  {
    std::ofstream stale(dir.path + "/stale");
    stale << "from an earlier run";
  }
  struct timespec past[2];  // written by an earlier run, a minute ago
  ::clock_gettime(CLOCK_REALTIME, &past[0]);
  past[0].tv_sec -= 60;
  past[1] = past[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir.path + "/stale").c_str(), past, 0), 0);
  json file = container("file", "printf 'DONE' > msg; exit 0");
  file["workingDir"] = dir.path;
  file["terminationMessagePath"] = "msg";  // relative: to workingDir
  json logs = container("logs", "echo first; echo -n DONE; exit 1");
  logs["terminationMessagePolicy"] = "FallbackToLogsOnError";
  logs["terminationMessagePath"] = dir.path + "/none";
  json quiet = container("quiet", "echo ignored; exit 0");  // succeeded: no fallback
  quiet["terminationMessagePolicy"] = "FallbackToLogsOnError";
  quiet["terminationMessagePath"] = dir.path + "/none";
  json stale = container("stale", "exit 0");
  stale["terminationMessagePath"] = dir.path + "/stale";
  Ctx c;
  Pod pod(c.ctx,
          pod_json("tmsg", json::array({file, logs, quiet, stale}), json::array(), {{"restartPolicy", "Never"}}));
  ASSERT_EQ(lifehook_pod_start(pod.pod), LIFEHOOK_OK);
  ASSERT_EQ(lifehook_pod_wait(pod.pod, 10000), LIFEHOOK_OK);
  json s = pod.status()["containerStatuses"];
  EXPECT_EQ(s[0]["state"]["terminated"]["message"], "DONE");
  EXPECT_EQ(s[1]["state"]["terminated"]["message"], "first\nDONE");
  EXPECT_FALSE(s[2]["state"]["terminated"].contains("message")) << s[2];
  EXPECT_FALSE(s[3]["state"]["terminated"].contains("message")) << "written before the container started";
  char* w = nullptr;
  ASSERT_EQ(lifehook_pod_validate(c.ctx, pod_json("v", json::array({file})).dump().c_str(), nullptr, nullptr, &w),
            LIFEHOOK_OK);
  EXPECT_EQ(std::string(w).find("terminationMessage"), std::string::npos) << w;
  lifehook_free(w);
}

}  // namespace
