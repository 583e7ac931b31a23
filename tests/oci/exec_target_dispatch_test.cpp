// launch_exec(): the exec handler's choice between host, container and runtime (`runc exec`).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handlers/exec_target.hpp"
#include "oci_fixture.hpp"

namespace lifehook::testing {
namespace {

struct Launched {
  std::string out;
  int status = -1;
  bool cgroup_kept = false;
};

Launched launch(const Target& t, const std::vector<std::string>& argv) {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  SpawnSpec spec;
  spec.argv = argv;
  spec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  spec.stdout_fd = fds[1];
  spec.stderr_fd = fds[1];
  std::unique_ptr<Cgroup> cgroup;
  Spawned s = launch_exec(t, spec, cgroup);
  ::close(fds[1]);
  Launched r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) r.out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  siginfo_t info{};
  ::waitid(P_PID, static_cast<id_t>(s.pid), &info, WEXITED | __WALL);
  r.status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
  return r;
}

TEST(ExecDispatch, ModeFollowsTheTarget) {
  Target t;
  EXPECT_EQ(effective_exec_mode(t), "host");
  t.pid = 1234;
  EXPECT_EQ(effective_exec_mode(t), "host");  // no bundle: nothing to take the process spec from
  t.bundle = "/b";
  EXPECT_EQ(effective_exec_mode(t), "container");
  t.exec_mode = "runtime";
  EXPECT_EQ(effective_exec_mode(t), "runtime");
}

TEST(ExecDispatch, ContainerAndRuntimeModesRunInsideTheContainer) {
  SKIP_WITHOUT_RUNC();
  RuncContainer c;
  ASSERT_TRUE(c.ok()) << c.error();
  Target t;
  t.pid = c.pid();
  t.runtime_root = test_runtime_root();  // as the oci driver fills its hooks' targets
  t.bundle = c.bundle();
  t.env = {{"GREETING", "hi"}};
  t.working_dir = "/tmp";
  const std::vector<std::string> probe = {"sh", "-c", "echo $GREETING $(pwd) $(readlink /proc/self/ns/mnt)"};
  std::string container_mnt = "mnt:[" + std::to_string([&] {
                                struct stat st;
                                ::stat(("/proc/" + std::to_string(c.pid()) + "/ns/mnt").c_str(), &st);
                                return st.st_ino;
                              }()) +
                              "]";
  for (const char* mode : {"container", "runtime"}) {
    t.exec_mode = mode;
    Launched r = launch(t, probe);
    EXPECT_EQ(r.status, 0) << mode << ": " << r.out;
    EXPECT_EQ(r.out, "hi /tmp " + container_mnt + "\n") << mode;
  }
  t.exec_mode = "runtime";
  EXPECT_EQ(launch(t, {"sh", "-c", "exit 7"}).status, 7);
}

TEST(ExecDispatch, RuntimeModeNamesAnUnknownContainer) {
  Target t;
  t.pid = ::getpid();  // not any runtime's container
  t.exec_mode = "runtime";
  SpawnSpec spec;
  spec.argv = {"true"};
  std::unique_ptr<Cgroup> cgroup;
  try {
    launch_exec(t, spec, cgroup);
    ADD_FAILURE() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("target.pid"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lifehook::testing
