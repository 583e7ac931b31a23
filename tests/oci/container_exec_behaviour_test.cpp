// What spawn_in_container() promises besides parity: exact exit statuses, the container's pid
// namespace, env/HOME/cwd, no leaked host descriptors, clear errors, killable trees without
// zombies, and safety from a multithreaded host.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "container_exec_helpers.hpp"
#include "lifehook/lifehook.h"
#include "oci_fixture.hpp"
#include "plugin/common/errors.hpp"

namespace lifehook::testing {
namespace {

ino_t pid_ns_of(int pid) {
  struct stat st;
  if (::stat(("/proc/" + std::to_string(pid) + "/ns/pid").c_str(), &st) != 0) return 0;
  return st.st_ino;
}

// Processes in the given pid namespace other than its init: "<pid> <state> <cmdline>" each.
std::vector<std::string> processes_in_ns(ino_t ns, int init_pid) {
  std::vector<std::string> out;
  DIR* d = ::opendir("/proc");
  while (dirent* e = ::readdir(d)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0 || pid == init_pid || pid_ns_of(pid) != ns) continue;
    std::string base = "/proc/" + std::to_string(pid);
    std::ifstream stat(base + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::ifstream cmd(base + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    for (char& ch : cmdline)
      if (ch == '\0') ch = ' ';
    out.push_back(std::to_string(pid) + " " + line.substr(close + 2, 1) + " " + cmdline);
  }
  ::closedir(d);
  return out;
}

TEST(ContainerExec, ExitCodesAndSignalsAreExact) {
  SKIP_WITHOUT_RUNC();
  RuncContainer c;
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(exec_in_container(c.pid(), c.bundle(), {"sh", "-c", "exit 42"}).exit_code, 42);
  EXPECT_EQ(exec_in_container(c.pid(), c.bundle(), {"true"}).exit_code, 0);
  ExecOutcome killed = exec_in_container(c.pid(), c.bundle(), {"sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(killed.exit_code, -1);
  EXPECT_EQ(killed.signal, SIGTERM);
}

TEST(ContainerExec, RunsInTheContainersPidNamespaceAsOurChild) {
  SKIP_WITHOUT_RUNC();
  RuncContainer c;
  ASSERT_TRUE(c.ok()) << c.error();
  ExecOutcome r = exec_in_container(c.pid(), c.bundle(), {"sh", "-c", "echo $$ $PPID; ps -o pid,comm"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  int inner_pid = std::atoi(r.out.c_str());
  EXPECT_GT(inner_pid, 1);
  EXPECT_LT(inner_pid, 1000) << "a pid of the container's namespace, not the host's: " << r.out;
  // Its parent is outside the namespace (the host), exactly as with runc exec.
  EXPECT_NE(r.out.find(" 0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sleep"), std::string::npos) << "sees the container's init: " << r.out;
}

TEST(ContainerExec, EnvironmentHomeAndWorkingDirectory) {
  SKIP_WITHOUT_RUNC();
  BundleOptions o;
  o.uid = 1000;
  o.gid = 1000;
  o.env.push_back("FROM_BUNDLE=yes");
  o.cwd = "/home/app";
  RuncContainer c(o);
  ASSERT_TRUE(c.ok()) << c.error();
  ExecOutcome r = exec_in_container(c.pid(), c.bundle(), {"sh", "-c", "echo $FROM_BUNDLE $TERM $EXTRA $HOME; pwd"},
                                    {"TERM=dumb", "EXTRA=1"});
  EXPECT_EQ(r.out, "yes dumb 1 /home/app\n/home/app\n");
  r = exec_in_container(c.pid(), c.bundle(), {"pwd"}, {}, "/tmp");
  EXPECT_EQ(r.out, "/tmp\n");
  // The same HOME as runc exec gives (from the container's /etc/passwd).
  int rc = 0;
  EXPECT_EQ(c.runc_exec({"sh", "-c", "echo $HOME"}, &rc), "/home/app\n");
}

TEST(ContainerExec, HostDescriptorsDoNotLeakIntoTheContainer) {
  SKIP_WITHOUT_RUNC();
  RuncContainer c;
  ASSERT_TRUE(c.ok()) << c.error();
  int leaky = ::dup2(::open("/dev/null", O_RDONLY), 77);  // no O_CLOEXEC on purpose, as a careless host does
  ASSERT_EQ(leaky, 77);
  ExecOutcome r = exec_in_container(c.pid(), c.bundle(), {"sh", "-c", "test -e /proc/self/fd/77; echo $?"});
  ::close(77);
  EXPECT_EQ(r.out, "1\n");
}

TEST(ContainerExec, ClearErrors) {
  SKIP_WITHOUT_RUNC();
  RuncContainer c;
  ASSERT_TRUE(c.ok()) << c.error();
  try {
    exec_in_container(c.pid(), c.bundle(), {"no-such-program"});
    ADD_FAILURE() << "no error";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.err(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("no-such-program"), std::string::npos) << e.what();
  }
  try {
    exec_in_container(c.pid(), c.bundle(), {"true"}, {}, "/does/not/exist");
    ADD_FAILURE() << "no error";
  } catch (const SpawnError& e) {
    EXPECT_NE(std::string(e.what()).find("/does/not/exist"), std::string::npos) << e.what();
  }
  try {
    exec_in_container(c.pid(), "/nonexistent-bundle", {"true"});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), LIFEHOOK_E_INVALID);
    EXPECT_NE(std::string(e.what()).find("target.bundle"), std::string::npos) << e.what();
  }
  // A process that is gone.
  int gone = ::fork();
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  try {
    exec_in_container(gone, c.bundle(), {"true"});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), LIFEHOOK_E_NOT_FOUND) << e.what();
  }
}

TEST(ContainerExec, UnappliedLsmLabelIsAWarningAndConfigChangesAreSeen) {
  SKIP_WITHOUT_RUNC();
  if (::access("/sys/module/apparmor/parameters/enabled", F_OK) == 0) GTEST_SKIP() << "AppArmor is on here";
  RuncContainer c;
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_TRUE(exec_in_container(c.pid(), c.bundle(), {"true"}).warnings.empty());
  // runc itself refuses to start a container with a profile AppArmor cannot apply; the bundle is
  // edited after the start instead (which also shows that a changed config.json is re-read).
  std::string file = c.bundle() + "/config.json";
  nlohmann::json config = nlohmann::json::parse(std::ifstream(file));
  config["process"]["apparmorProfile"] = "lifehook-test-profile";
  std::ofstream(file) << config.dump(1);
  ExecOutcome r = exec_in_container(c.pid(), c.bundle(), {"true"});
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("AppArmor is not enabled"), std::string::npos) << r.warnings[0];
}

TEST(ContainerExec, KillingTheGroupLeavesNothingInTheContainer) {
  SKIP_WITHOUT_RUNC();
  BundleOptions o;
  // An init that reaps (a shell waiting for its own children reaps adopted ones too).
  o.args = {"sh", "-c", "while :; do sleep 1; done"};
  RuncContainer c(o);
  ASSERT_TRUE(c.ok()) << c.error();
  ContainerExecSpec spec;
  spec.target_pid = c.pid();
  spec.bundle = c.bundle();
  spec.argv = {"sh", "-c", "sleep 100 & sleep 100 & wait"};
  ContainerSpawned s = spawn_in_container(spec);
  ino_t ns = pid_ns_of(c.pid());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  size_t sleeps = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    sleeps = 0;
    for (const auto& p : processes_in_ns(ns, c.pid())) sleeps += p.find("sleep 100") != std::string::npos;
    if (sleeps >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(sleeps, 2u);
  // What a timeout does: the pidfd for the process, its process group for the tree.
  ASSERT_TRUE(s.spawned.pidfd);
  EXPECT_EQ(::syscall(SYS_pidfd_send_signal, s.spawned.pidfd.get(), SIGKILL, nullptr, 0), 0);
  EXPECT_EQ(::kill(-s.spawned.pid, SIGKILL), 0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(s.spawned.pid), &info, WEXITED | __WALL), 0);
  EXPECT_EQ(info.si_code, CLD_KILLED);
  std::vector<std::string> left;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    left.clear();
    // The init's own `sleep 1` comes and goes; anything else (our sleeps, zombies) must go.
    for (const auto& p : processes_in_ns(ns, c.pid()))
      if (p.find(" Z ") != std::string::npos || p.find("sleep 100") != std::string::npos) left.push_back(p);
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_TRUE(left.empty()) << left.front();
}

// The exec handler in container mode: what the command left running (its background jobs, a
// grandchild whose parent exited: adopted by the container's init by then) is killed before the
// result is delivered, as on the host.
TEST(ContainerExec, TheHandlerLeavesNothingOfItsTreeBehind) {
  SKIP_WITHOUT_RUNC();
  BundleOptions o;
  o.args = {"sh", "-c", "while :; do sleep 1; done"};  // an init that reaps what it adopts
  RuncContainer c(o);
  ASSERT_TRUE(c.ok()) << c.error();
  lifehook_ctx* ctx = nullptr;
  ASSERT_EQ(lifehook_ctx_new(nullptr, &ctx, nullptr), LIFEHOOK_OK);
  std::string request = R"({"handler":{"exec":{"command":["sh","-c","sleep 100 & sh -c 'sleep 101 &'; exit 0"]}},)"
                        R"("target":{"pid":)" +
                        std::to_string(c.pid()) + R"(,"bundle":")" + c.bundle() + R"("},"timeoutMs":10000})";
  char* result = nullptr;
  ASSERT_EQ(lifehook_run(ctx, request.c_str(), &result, nullptr), LIFEHOOK_OK);
  std::string text = result;
  lifehook_free(result);
  EXPECT_NE(text.find("\"outcome\":\"success\""), std::string::npos) << text;
  ino_t ns = pid_ns_of(c.pid());
  std::vector<std::string> left;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {  // SIGKILLed before the result; gone once the init has reaped them
    left.clear();
    for (const auto& p : processes_in_ns(ns, c.pid()))
      if (p.find("sleep 10") != std::string::npos) left.push_back(p);
    if (left.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_TRUE(left.empty()) << left.front();
  lifehook_ctx_free(ctx);
}

TEST(ContainerExec, ManyThreadsAtOnce) {
  SKIP_WITHOUT_RUNC();
  RuncContainer c;
  ASSERT_TRUE(c.ok()) << c.error();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        try {
          ExecOutcome r = exec_in_container(c.pid(), c.bundle(), {"sh", "-c", "echo ok"});
          if (r.exit_code == 0 && r.out == "ok\n") ++ok;
        } catch (...) {
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 40);
}

}  // namespace
}  // namespace lifehook::testing
