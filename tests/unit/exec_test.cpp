// The exec handler end to end through a Context: real processes, real pipes, real kills.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "exec_test_util.hpp"
#include "handlers/model.hpp"
#include "plugin/context/context.hpp"

using namespace lifehook;
using lifehook::testing::count_processes_with;
using lifehook::testing::survivors_after;

namespace {

using Clock = std::chrono::steady_clock;

// {"handler":{"exec":{"command":[...]}}, "target": target, "timeoutMs": timeout}
Request exec_request(const std::vector<std::string>& argv, json target = json::object(), int64_t timeout_ms = 0) {
  json j;
  j["handler"]["exec"]["command"] = argv;
  j["target"] = std::move(target);
  if (timeout_ms) j["timeoutMs"] = timeout_ms;
  return parse_request(j.dump());
}

ContextOptions options_with_output(size_t max_output) {
  ContextOptions o;
  o.handler.max_output_bytes = max_output;
  return o;
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

TEST(Exec, ExitZeroIsSuccess) {
  Context ctx(ContextOptions{});
  Result r = ctx.run(exec_request({"true"}));
  EXPECT_EQ(r.outcome, Outcome::Success) << r.message;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.signal.has_value());
  EXPECT_EQ(r.output, "");
  EXPECT_EQ(r.truncated, false);
}

TEST(Exec, NonZeroExitIsFailureWithKubeletStyleMessage) {
  Context ctx(ContextOptions{});
  Result r = ctx.run(exec_request({"sh", "-c", "exit 3"}));
  EXPECT_EQ(r.outcome, Outcome::Failure);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.message, "command 'sh -c exit 3' exited with 3");

  r = ctx.run(exec_request({"sh", "-c", "echo partial; echo 'first problem' >&2; echo second >&2; exit 42"}));
  EXPECT_EQ(r.outcome, Outcome::Failure);
  EXPECT_EQ(r.exit_code, 42);
  EXPECT_TRUE(r.message.ends_with("exited with 42: first problem")) << r.message;
}

TEST(Exec, TerminatingSignalIsReportedSeparately) {
  Context ctx(ContextOptions{});
  // "$$$$" is the Kubernetes escape for the shell's "$$".
  Result r = ctx.run(exec_request({"sh", "-c", "kill -TERM $$$$"}));
  EXPECT_EQ(r.outcome, Outcome::Failure);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_FALSE(r.exit_code.has_value());
  EXPECT_NE(r.message.find("SIGTERM"), std::string::npos) << r.message;
}

TEST(Exec, StdoutThenStderr) {
  Context ctx(ContextOptions{});
  Result r = ctx.run(exec_request({"sh", "-c", "echo err >&2; sleep 0.01; echo out"}));
  EXPECT_EQ(r.outcome, Outcome::Success);
  EXPECT_EQ(r.output, "out\nerr\n");
}

TEST(Exec, VariablesEnvironmentAndWorkingDir) {
  Context ctx(ContextOptions{});
  json target = {{"env", {{{"name", "GREETING"}, {"value", "hello"}}, {{"name", "FOO"}, {"value", "bar baz"}}}},
                 {"workingDir", "/tmp"}};
  Result r = ctx.run(exec_request({"sh", "-c", "echo $(GREETING) \"$FOO\"; pwd; echo \"$PATH\""}, target));
  EXPECT_EQ(r.outcome, Outcome::Success) << r.message;
  EXPECT_EQ(r.output, "hello bar baz\n/tmp\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");

  // The host's environment does not leak in; a PATH from the target replaces the default.
  ::setenv("LIFEHOOK_TEST_HOST_ONLY", "leaked", 1);
  target = {{"env", {{{"name", "PATH"}, {"value", "/bin:/usr/bin"}}}}};
  r = ctx.run(exec_request({"sh", "-c", "echo \"$PATH|$LIFEHOOK_TEST_HOST_ONLY\""}, target));
  ::unsetenv("LIFEHOOK_TEST_HOST_ONLY");
  EXPECT_EQ(r.output, "/bin:/usr/bin|\n");
}

TEST(Exec, CompletesOnExitNotOnPipeEofAndLeavesNoBackgroundChild) {
  Context ctx(ContextOptions{});
  auto t0 = Clock::now();
  Result r = ctx.run(exec_request({"sh", "-c", "echo hi; sleep 600.201 &"}));
  double ms = ms_since(t0);
  std::printf("[ measure  ] background grandchild: finished in %.1f ms\n", ms);
  EXPECT_EQ(r.outcome, Outcome::Success) << r.message;
  EXPECT_EQ(r.output, "hi\n");
  EXPECT_LT(ms, 1000);
  EXPECT_EQ(survivors_after("600.201"), 0);
}

TEST(Exec, EndlessOutputIsCappedAndMemoryStaysBounded) {
  Context ctx(options_with_output(1000));
  long rss_before = lifehook::testing::rss_kib();
  auto t0 = Clock::now();
  Result r = ctx.run(exec_request({"yes", "lifehook-yes-marker"}, json::object(), 500));
  double ms = ms_since(t0);
  long rss_after = lifehook::testing::rss_kib();
  std::printf("[ measure  ] yes: %.1f ms, RSS %ld -> %ld KiB\n", ms, rss_before, rss_after);
  EXPECT_EQ(r.outcome, Outcome::Timeout);
  ASSERT_TRUE(r.output.has_value());
  EXPECT_EQ(r.output->size(), 1000u);
  EXPECT_EQ(r.truncated, true);
  EXPECT_LT(ms, 2000);
  EXPECT_LT(rss_after - rss_before, 64 * 1024);
  EXPECT_EQ(survivors_after("lifehook-yes-marker"), 0);

  // A writer that finishes on its own is never blocked by the cap: 16 MiB pass through.
  r = ctx.run(exec_request({"head", "-c", "16777216", "/dev/zero"}, json::object(), 10000));
  EXPECT_EQ(r.outcome, Outcome::Success) << r.message;
  EXPECT_EQ(r.truncated, true);
  EXPECT_EQ(r.output->size(), 1000u);
}

TEST(Exec, TimeoutKillsTheWholeTreeIncludingSetsidDescendants) {
  Context ctx(ContextOptions{});
  Result r = ctx.run(exec_request({"sh", "-c", "sleep 600.123 & setsid sleep 600.123 & wait"}, json::object(), 300));
  std::printf("[ measure  ] timeout 300 ms: outcome after %.1f ms\n", r.duration_ms);
  EXPECT_EQ(r.outcome, Outcome::Timeout);
  EXPECT_GE(r.duration_ms, 299);
  EXPECT_LT(r.duration_ms, 1000);
  EXPECT_EQ(r.message, "command 'sh -c sleep 600.123 & setsid sleep 600.123 & wait' timed out after 300ms");
  EXPECT_EQ(r.signal, SIGKILL);  // the reaped shell, killed by us
  EXPECT_EQ(survivors_after("600.123"), 0);
}

TEST(Exec, CancelKillsAndReportsCanceled) {
  Context ctx(ContextOptions{});
  std::promise<Result> done;
  uint64_t op = ctx.submit(exec_request({"sh", "-c", "sleep 600.124; true"}),
                           [&](uint64_t, const Result& r) { done.set_value(r); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(count_processes_with("600.124"), 2);  // sh and sleep
  auto t0 = Clock::now();
  EXPECT_TRUE(ctx.cancel(op));
  Result r = done.get_future().get();
  std::printf("[ measure  ] cancel -> result in %.1f ms\n", ms_since(t0));
  EXPECT_EQ(r.outcome, Outcome::Canceled);
  EXPECT_EQ(survivors_after("600.124"), 0);
}

TEST(Exec, ChildSeesOnlyStandardDescriptors) {
  // Descriptors of the host without O_CLOEXEC must not reach the child.
  int leaky = ::open("/dev/null", O_RDONLY);
  int leaky_pipe[2];
  ASSERT_EQ(::pipe(leaky_pipe), 0);
  Context ctx(ContextOptions{});
  Result r = ctx.run(exec_request({"ls", "/proc/self/fd"}));
  ::close(leaky);
  ::close(leaky_pipe[0]);
  ::close(leaky_pipe[1]);
  EXPECT_EQ(r.outcome, Outcome::Success) << r.message;
  EXPECT_EQ(r.output, "0\n1\n2\n3\n");  // 3 is ls's own directory listing
}

TEST(Exec, MissingOrNonExecutableCommandIsAnError) {
  Context ctx(ContextOptions{});
  Result r = ctx.run(exec_request({"lifehook-no-such-command", "x"}));
  EXPECT_EQ(r.outcome, Outcome::Error);
  EXPECT_NE(r.message.find("lifehook-no-such-command"), std::string::npos) << r.message;

  r = ctx.run(exec_request({"/nonexistent/lifehook-cmd"}));
  EXPECT_EQ(r.outcome, Outcome::Error);
  EXPECT_NE(r.message.find("/nonexistent/lifehook-cmd"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("No such file"), std::string::npos) << r.message;

  char not_executable[] = "/tmp/lifehook-exec-test-XXXXXX";
  int fd = ::mkstemp(not_executable);
  ASSERT_GE(fd, 0);
  ::close(fd);  // mode 0600: no execute bit for anyone, root included
  r = ctx.run(exec_request({not_executable}));
  ::unlink(not_executable);
  EXPECT_EQ(r.outcome, Outcome::Error);
  EXPECT_NE(r.message.find("Permission denied"), std::string::npos) << r.message;

  r = ctx.run(exec_request({"true"}, {{"workingDir", "/nonexistent-lifehook-dir"}}));
  EXPECT_EQ(r.outcome, Outcome::Error);
  EXPECT_NE(r.message.find("/nonexistent-lifehook-dir"), std::string::npos) << r.message;
}

TEST(Exec, ContainerModeWithoutItsBundleIsAnError) {
  // Container mode takes user, capabilities, seccomp, env and cwd from target.bundle's config.json;
  // without it the outcome is an error naming the field, never a host exec in disguise.
  Context ctx(ContextOptions{});
  Result r = ctx.run(exec_request({"true"}, {{"execMode", "container"}, {"pid", 4000000}}));
  EXPECT_EQ(r.outcome, Outcome::Error);
  EXPECT_NE(r.message.find("target.bundle"), std::string::npos) << r.message;
  EXPECT_FALSE(r.exit_code.has_value());
}

TEST(Exec, HostIgnoringSigchldStillGetsADefinedResult) {
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGCHLD, &ign, &old);
  Context ctx(ContextOptions{});
  Result r = ctx.run(exec_request({"sh", "-c", "exit 7"}));
  // The child does not inherit the ignored SIGCHLD: a shell can wait for its own children.
  Result waited = ctx.run(exec_request({"sh", "-c", "sleep 0.01 & wait $!; echo $?"}));
  ::sigaction(SIGCHLD, &old, nullptr);
  // The kernel auto-reaps our child; from Linux 6.15 the pidfd still tells how it ended, before
  // that the result is a clear error instead of a made-up exit code.
  if (r.outcome == Outcome::Error) {
    EXPECT_NE(r.message.find("exit status"), std::string::npos) << r.message;
    EXPECT_FALSE(r.exit_code.has_value());
  } else {
    EXPECT_EQ(r.outcome, Outcome::Failure) << r.message;
    EXPECT_EQ(r.exit_code, 7);
  }
  EXPECT_EQ(waited.output, "0\n");
}

TEST(Exec, HostReapingAnyChildDoesNotStealOurs) {
  // A host thread looping waitpid(-1) (a subreaper-style host) must not take our exit codes.
  std::atomic<bool> stop{false};
  std::thread reaper([&] {
    while (!stop) {
      ::waitpid(-1, nullptr, WNOHANG);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  Context ctx(ContextOptions{});
  for (int code : {0, 1, 5, 9}) {
    Result r = ctx.run(exec_request({"sh", "-c", "sleep 0.02; exit " + std::to_string(code)}));
    EXPECT_EQ(r.exit_code, code) << r.message;
  }
  stop = true;
  reaper.join();
}

TEST(Exec, TwoHundredConcurrentExecsFromEightThreads) {
  Context ctx(ContextOptions{});
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0, right = 0;
  std::vector<std::string> wrong;
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        int code = (t * 25 + i) % 64;
        ctx.submit(exec_request({"sh", "-c", "sleep 0.05; exit " + std::to_string(code)}),
                   [&, code](uint64_t, const Result& r) {
                     std::lock_guard<std::mutex> lock(mu);
                     if (r.exit_code == code && r.outcome == (code ? Outcome::Failure : Outcome::Success))
                       ++right;
                     else
                       wrong.push_back(r.message);
                     if (++finished == 200) cv.notify_all();
                   });
      }
    });
  for (auto& th : threads) th.join();
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return finished == 200; }));
  std::printf("[ measure  ] 200 concurrent execs: %.1f ms\n", ms_since(t0));
  EXPECT_EQ(right, 200) << (wrong.empty() ? "" : wrong.front());
}
