// The process layer on its own: spawn_process, Child (pidfd watch, signals, tree kill, reap)
// and cgroups, on a private io_context.
#include "plugin/os/spawn.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <fstream>
#include <future>
#include <thread>

#include "exec_test_util.hpp"
#include "plugin/common/errors.hpp"
#include "plugin/os/cgroup.hpp"
#include "plugin/os/child.hpp"

using namespace lifehook;
using lifehook::testing::count_processes_with;
using lifehook::testing::survivors_after;

namespace {

using Clock = std::chrono::steady_clock;

spdlog::logger& quiet_logger() {
  static spdlog::logger log("spawn-test", std::make_shared<spdlog::sinks::null_sink_mt>());
  return log;
}

// Runs one Child to its exit on a private loop.
ExitStatus wait_exit(Spawned spawned, std::unique_ptr<Cgroup> cgroup = nullptr) {
  boost::asio::io_context io;
  auto child = std::make_shared<Child>(boost::asio::make_strand(io), std::move(spawned), std::move(cgroup));
  ExitStatus status;
  bool called = false;
  child->async_wait([&](const ExitStatus& s) {
    status = s;
    called = true;
  });
  io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(called);
  return status;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

bool process_gone(int pid) {
  return ::kill(pid, 0) != 0 && errno == ESRCH;  // not even a zombie
}

}  // namespace

TEST(Spawn, RunsWithGivenEnvironmentAndReportsExitCode) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "echo \"$A\"; exit 5"};
  spec.env = {"PATH=/usr/bin:/bin", "A=from-env"};
  spec.stdout_fd = fds[1];
  Spawned s = spawn_process(spec);
  ::close(fds[1]);
  EXPECT_GT(s.pid, 0);
  EXPECT_TRUE(static_cast<bool>(s.pidfd));
  ExitStatus st = wait_exit(std::move(s));
  EXPECT_EQ(read_all(fds[0]), "from-env\n");
  ::close(fds[0]);
  EXPECT_TRUE(st.known);
  EXPECT_EQ(st.exit_code, 5);
  EXPECT_EQ(st.signal, 0);
}

TEST(Spawn, ChildHasDefaultSignalsEmptyMaskAndOwnSession) {
  // Ignore SIGPIPE and block SIGUSR1 here: the child must get neither.
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old);
  sigset_t usr1, old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);

  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  SpawnSpec spec;
  spec.argv = {"sh", "-c",
               "grep -E '^(SigBlk|SigIgn)' /proc/self/status; "
               "read -r pid comm state ppid pgrp sid rest < /proc/$$/stat; echo \"ids $pid $pgrp $sid\""};
  spec.stdout_fd = fds[1];
  Spawned s = spawn_process(spec);
  int pid = s.pid;
  ::close(fds[1]);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &old, nullptr);
  wait_exit(std::move(s));
  std::string out = read_all(fds[0]);
  ::close(fds[0]);
  EXPECT_NE(out.find("SigBlk:\t0000000000000000"), std::string::npos) << out;
  EXPECT_NE(out.find("SigIgn:\t0000000000000000"), std::string::npos) << out;
  // pid == process group == session: the child leads a session of its own.
  std::string p = std::to_string(pid);
  EXPECT_NE(out.find("ids " + p + " " + p + " " + p + "\n"), std::string::npos) << out;
}

TEST(Spawn, ExecFailuresAreSpawnErrorsWithoutLeftovers) {
  SpawnSpec spec;
  spec.argv = {"/nonexistent/binary"};
  try {
    spawn_process(spec);
    FAIL() << "spawned a missing binary";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.err(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/binary"), std::string::npos) << e.what();
  }
  spec.argv = {"lifehook-not-in-path"};
  spec.env = {"PATH=/usr/bin:/bin"};
  EXPECT_THROW(spawn_process(spec), SpawnError);
  spec.argv = {"true"};
  spec.working_dir = "/nonexistent-dir";
  try {
    spawn_process(spec);
    FAIL() << "chdir to a missing directory succeeded";
  } catch (const SpawnError& e) {
    EXPECT_EQ(e.err(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir"), std::string::npos) << e.what();
  }
  // The failed children were reaped right away: no zombies of ours.
  std::ifstream children("/proc/self/task/" + std::to_string(::gettid()) + "/children");
  std::string rest;
  std::getline(children, rest);
  EXPECT_EQ(rest, "");
}

TEST(Spawn, KillTreeWithoutCgroupFindsSetsidDescendants) {
  // The fallback path (no cgroup): process group plus a /proc walk.
  boost::asio::io_context io;
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "sleep 600.302 & setsid sleep 600.302 & sh -c 'sleep 600.302 & wait' & wait"};
  auto child = std::make_shared<Child>(boost::asio::make_strand(io), spawn_process(spec), nullptr);
  for (int i = 0; i < 100 && count_processes_with("600.302") < 5; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(count_processes_with("600.302"), 5);
  child->kill_tree();
  ExitStatus st;
  child->async_wait([&](const ExitStatus& s) { st = s; });
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(st.signal, SIGKILL);
  EXPECT_EQ(survivors_after("600.302"), 0);
}

TEST(Spawn, LeftoversOfAnExitedLeaderAreKilledWithoutCgroup) {
  boost::asio::io_context io;
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "sleep 600.303 & exit 0"};
  auto child = std::make_shared<Child>(boost::asio::make_strand(io), spawn_process(spec), nullptr);
  ExitStatus st;
  child->async_wait([&](const ExitStatus& s) { st = s; });
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(st.exit_code, 0);
  // The leftover may be in the middle of its execve (its command line then reads empty): wait for
  // it to show, it cannot go away by itself.
  for (int i = 0; i < 200 && count_processes_with("600.303") != 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(count_processes_with("600.303"), 1);
  child->kill_tree();
  EXPECT_EQ(survivors_after("600.303"), 0);
}

TEST(Spawn, DroppingARunningChildKillsAndReapsIt) {
  int pid;
  {
    boost::asio::io_context io;
    SpawnSpec spec;
    spec.argv = {"sleep", "600.304"};
    auto child = std::make_shared<Child>(boost::asio::make_strand(io), spawn_process(spec), nullptr);
    pid = child->pid();
    child->async_wait([](const ExitStatus&) {});
    io.poll();
    auto t0 = Clock::now();
    child.reset();
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    EXPECT_LT(ms, 1000);
  }
  EXPECT_TRUE(process_gone(pid));
  EXPECT_EQ(survivors_after("600.304"), 0);
}

TEST(Cgroup, TreeInItsOwnCgroupIsKilledAndRemoved) {
  CgroupManager mgr(quiet_logger());
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
  ASSERT_TRUE(mgr.available()) << "root, but no writable cgroup v2 hierarchy found";
  auto cg = mgr.create("test");
  ASSERT_TRUE(cg);
  std::string path = cg->path();
  EXPECT_NE(path.find("/lifehook-" + std::to_string(::getpid()) + "-"), std::string::npos) << path;

  boost::asio::io_context io;
  SpawnSpec spec;
  spec.argv = {"sh", "-c", "sleep 600.305 & setsid sleep 600.305 & wait"};
  spec.cgroup_fd = cg->dir_fd();
  Spawned s = spawn_process(spec);
  // The child joined the cgroup before exec.
  std::ifstream cgfile("/proc/" + std::to_string(s.pid) + "/cgroup");
  std::string line, v2;
  while (std::getline(cgfile, line))
    if (line.rfind("0::", 0) == 0) v2 = line.substr(3);
  EXPECT_FALSE(v2.empty());
  EXPECT_NE(path.find(v2), std::string::npos) << v2 << " vs " << path;

  auto child = std::make_shared<Child>(boost::asio::make_strand(io), std::move(s), std::move(cg));
  // Until both sleeps have exec'd: before that the shell's forked copies also match "600.305", and a
  // command line read in the middle of an exec is empty, so the total alone may pass 3 and fall back.
  for (int i = 0; i < 100 && count_processes_with("sleep 600.305", true) < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(count_processes_with("600.305"), 3);
  child->kill_tree();
  ExitStatus st;
  child->async_wait([&](const ExitStatus& e) { st = e; });
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(st.signal, SIGKILL);
  EXPECT_EQ(survivors_after("600.305"), 0);
  child.reset();
  struct stat sb;
  EXPECT_NE(::stat(path.c_str(), &sb), 0) << path << " still exists";
}

TEST(Spawn, LatencyOfTrue) {
  // Not a speed assertion: a measurement for the report, plus a sanity bound.
  std::vector<double> spawn_us, total_us;
  for (int i = 0; i < 100; ++i) {
    SpawnSpec spec;
    spec.argv = {"/bin/true"};
    auto t0 = Clock::now();
    Spawned s = spawn_process(spec);
    auto t1 = Clock::now();
    ExitStatus st = wait_exit(std::move(s));
    auto t2 = Clock::now();
    EXPECT_EQ(st.exit_code, 0);
    spawn_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    total_us.push_back(std::chrono::duration<double, std::micro>(t2 - t0).count());
  }
  std::sort(spawn_us.begin(), spawn_us.end());
  std::sort(total_us.begin(), total_us.end());
  std::printf(
      "[ measure  ] spawn_process(/bin/true): median %.0f us, p99 %.0f us; spawn to reaped exit: median %.0f us, p99 "
      "%.0f us\n",
      spawn_us[50], spawn_us[98], total_us[50], total_us[98]);
  EXPECT_LT(total_us[50], 200000);
}

TEST(Spawn, ConcurrentSpawnsDoNotLeakPipeEndsIntoEachOther) {
  // pitfalls B10: if a write end leaked into a sibling, `cat` would not see EOF when we close ours.
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  auto t0 = Clock::now();
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 8; ++i) {
        int in[2], out[2];
        if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return;
        SpawnSpec spec;
        spec.argv = {"cat"};
        spec.stdin_fd = in[0];
        spec.stdout_fd = out[1];
        Spawned s = spawn_process(spec);
        ::close(in[0]);
        ::close(out[1]);
        EXPECT_EQ(::write(in[1], "ping", 4), 4);
        ::close(in[1]);
        std::string got = read_all(out[0]);  // EOF only once cat exits
        ::close(out[0]);
        ExitStatus st = wait_exit(std::move(s));
        if (got == "ping" && st.exit_code == 0) ++ok;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 64);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 30);
}
