// write_file_atomically under SIGKILL: a writer process replaces a file with ever newer complete
// documents as fast as it can; it is killed at random moments, again and again, and after every
// kill the file must be one complete document (never torn, never empty), never older than the
// one seen before the kill.
#include "plugin/os/state_file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "plugin/common/regular_file.hpp"

extern char** environ;

namespace lifehook {
namespace {

constexpr const char* kWriterEnv = "LIFEHOOK_TEST_STATE_FILE_WRITER";
constexpr size_t kMax = size_t{4} << 20;

// A document whose every part tells its generation: a torn mix of two cannot pass check().
std::string document(uint64_t gen) {
  std::string pad((gen % 7 + 1) * 40000, static_cast<char>('a' + gen % 26));
  return nlohmann::json{{"gen", gen}, {"pad", pad}, {"end", gen}}.dump();
}

uint64_t check(const std::string& text) {
  auto j = nlohmann::json::parse(text);  // throws on a torn document
  uint64_t gen = j.at("gen").get<uint64_t>();
  EXPECT_EQ(j.at("end").get<uint64_t>(), gen);
  EXPECT_EQ(text, document(gen));
  return gen;
}

// Not a test on its own: the writer process the test below starts (this binary, filtered to
// this test, with the file's path in the environment).
TEST(StateFileTornWrite, WriterProcess) {
  const char* path = std::getenv(kWriterEnv);
  if (!path) GTEST_SKIP() << "the writer of StateFileTornWrite.KilledAtRandomMoments";
  uint64_t gen = 0;
  if (auto old = read_file_if_exists(path, kMax)) gen = nlohmann::json::parse(*old).at("gen").get<uint64_t>();
  for (;;) write_file_atomically(path, document(++gen), kMax);
}

// Whether a stopped writer holds the temporary open: it is between its open() and its close(),
// that is mid-write. Read from the writer's descriptors, not from the temporary's existence: a
// stale temporary left by the previous round's kill exists too.
bool holds_open(pid_t pid, const std::string& file) {
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    if (std::filesystem::read_symlink(fd.path(), link_ec).string() == file) return true;
  }
  return false;
}

TEST(StateFileTornWrite, KilledAtRandomMoments) {
  std::string dir = "/tmp/lifehook-state-file-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::string path = dir + "/state.json";
  std::string tmp = path + ".tmp";
  std::string env = std::string(kWriterEnv) + "=" + path;
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=StateFileTornWrite.WriterProcess";
  char* argv[] = {exe.data(), filter.data(), nullptr};
  char* envp[] = {env.data(), nullptr};
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_us(0, 30000);
  std::uniform_int_distribution<int> short_delay_us(0, 2000);
  uint64_t seen = 0;
  int kills_mid_write = 0;
  for (int round = 0; round < 40; ++round) {
    pid_t pid = -1;
    posix_spawn_file_actions_t quiet;  // the writer's gtest output is not ours
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    int spawned = posix_spawn(&pid, exe.c_str(), &quiet, nullptr, argv, envp);
    posix_spawn_file_actions_destroy(&quiet);
    ASSERT_EQ(spawned, 0);
    if (round % 2 == 0) {
      // Odd rounds kill at a random moment; even rounds kill mid-write for certain: stop the
      // writer at random moments until it is stopped holding the temporary open (bounded: a
      // writer that never writes is a failure).
      bool mid_write = false;
      for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
           !mid_write && std::chrono::steady_clock::now() < until;) {
        std::this_thread::sleep_for(std::chrono::microseconds(short_delay_us(rng)));
        ASSERT_EQ(::kill(pid, SIGSTOP), 0);
        int stopped = 0;
        ASSERT_EQ(::waitpid(pid, &stopped, WUNTRACED), pid);
        ASSERT_TRUE(WIFSTOPPED(stopped)) << "the writer ended on its own: status " << stopped;
        mid_write = holds_open(pid, tmp);
        if (!mid_write) {
          ASSERT_EQ(::kill(pid, SIGCONT), 0);
        }
      }
      EXPECT_TRUE(mid_write) << "round " << round << ": the writer was never seen writing in 20 s";
      if (mid_write) ++kills_mid_write;
    } else {
      // Wait (bounded) until the writer is in its loop, its temporary seen: a slow start (as under
      // ASan) is not a kill mid-write. Then kill anywhere in the loop.
      for (auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
           !std::filesystem::exists(tmp) && std::chrono::steady_clock::now() < until;)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    }
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer ended on its own: status " << status;
    auto text = read_file_if_exists(path, kMax);
    if (!text) {
      ASSERT_EQ(seen, 0u) << "the file disappeared after round " << round;
      continue;
    }
    uint64_t gen = 0;
    ASSERT_NO_THROW(gen = check(*text)) << "round " << round << ": torn document of " << text->size() << " bytes";
    EXPECT_GE(gen, seen) << "round " << round << ": an older document came back";
    seen = gen;
  }
  EXPECT_GT(seen, 0u);
  EXPECT_EQ(kills_mid_write, 20);
  std::filesystem::remove_all(dir);
}

TEST(StateFile, RefusesTooLargeAndKeepsTheOld) {
  std::string dir = "/tmp/lifehook-state-file-big-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::string path = dir + "/s.json";
  write_file_atomically(path, "old", 16);
  EXPECT_THROW(write_file_atomically(path, std::string(17, 'x'), 16), FileReadError);
  EXPECT_EQ(read_file_if_exists(path, 16).value_or(""), "old");
  EXPECT_FALSE(read_file_if_exists(dir + "/missing", 16).has_value());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lifehook
