#include "orphan_reaper.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace ocihook {

namespace {

// Live (non-zombie) children of this process, from /proc/<pid>/stat: "pid (comm) state ppid ...".
std::vector<pid_t> live_children() {
  std::vector<pid_t> out;
  const pid_t self = ::getpid();
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE* f = std::fopen(path, "re");
    if (!f) continue;
    char buf[512];
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    const char* close = std::strrchr(buf, ')');  // comm may contain spaces and parentheses
    char state = 0;
    int ppid = 0;
    if (close && std::sscanf(close + 1, " %c %d", &state, &ppid) == 2 && ppid == self && state != 'Z')
      out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

}  // namespace

void become_subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int reap_adopted_children(std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  int killed = 0;
  for (;;) {
    for (;;) {  // reap every zombie child
      int status = 0;
      pid_t r = ::waitpid(-1, &status, WNOHANG | __WALL);
      if (r > 0) continue;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == ECHILD) return killed;  // no children left at all
      break;                                        // 0: children exist, none exited yet
    }
    if (std::chrono::steady_clock::now() >= end) return killed;
    for (pid_t pid : live_children())
      if (::kill(pid, SIGKILL) == 0) ++killed;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace ocihook
