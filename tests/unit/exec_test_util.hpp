// Helpers shared by the exec/spawn tests: finding processes by a unique marker argument.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace lifehook::testing {

// Live (non-zombie) processes whose command line contains `marker` (e.g. "600.123" from
// `sleep 600.123`), not counting ourselves. With `at_start`, only those whose command line begins
// with it: a child that has exec'd "sleep ...", not the shell's forked copy still holding its text.
inline int count_processes_with(const std::string& marker, bool at_start = false) {
  int count = 0;
  DIR* d = ::opendir("/proc");
  if (!d) return -1;
  while (dirent* e = ::readdir(d)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0 || pid == ::getpid()) continue;
    std::string path = "/proc/" + std::string(e->d_name) + "/cmdline";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    ::close(fd);
    if (n <= 0) continue;  // zombies have an empty command line
    std::string cmd(buf, static_cast<size_t>(n));
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    if (at_start ? cmd.rfind(marker, 0) == 0 : cmd.find(marker) != std::string::npos) ++count;
  }
  ::closedir(d);
  return count;
}

// SIGKILL is delivered asynchronously: give the kernel a generous moment to finish the kill.
inline int survivors_after(const std::string& marker,
                           std::chrono::milliseconds limit = std::chrono::milliseconds(2000)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  int n = count_processes_with(marker);
  while (n > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    n = count_processes_with(marker);
  }
  return n;
}

inline long rss_kib() {
  int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  char buf[8192];
  ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  const char* p = std::strstr(buf, "VmRSS:");
  return p ? std::atol(p + 6) : -1;
}

}  // namespace lifehook::testing
