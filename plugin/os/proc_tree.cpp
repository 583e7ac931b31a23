#include "proc_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace lifehook {

ProcEntry read_process(int pid) {
  ProcEntry e;
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return e;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0) return e;
  buf[n] = '\0';
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  //  cutime cstime priority nice threads itrealvalue starttime ..." — comm may hold spaces and ')'.
  char* close_paren = std::strrchr(buf, ')');
  if (!close_paren || close_paren[1] != ' ') return e;
  char* p = close_paren + 2;
  e.state = *p;
  p += 2;
  char* end;
  e.ppid = static_cast<int>(std::strtol(p, &end, 10));
  e.pgrp = static_cast<int>(std::strtol(end, &end, 10));
  e.session = static_cast<int>(std::strtol(end, &end, 10));
  // Skip tty_nr .. itrealvalue (fields 7..21) to reach starttime (field 22).
  for (int i = 7; i <= 21; ++i) std::strtoll(end, &end, 10);
  e.start_time = std::strtoull(end, &end, 10);
  e.pid = pid;
  return e;
}

std::vector<ProcEntry> list_processes() {
  std::vector<ProcEntry> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* de = ::readdir(d)) {
    int pid = std::atoi(de->d_name);
    if (pid <= 0) continue;
    ProcEntry e = read_process(pid);
    if (e.pid) out.push_back(e);
  }
  ::closedir(d);
  return out;
}

size_t collect_tree(int root, bool root_reaped, std::map<int, uint64_t>& members) {
  std::vector<ProcEntry> procs = list_processes();
  size_t added = 0;
  // Repeat over the snapshot so children listed before their parents are found too.
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& p : procs) {
      if (p.state == 'Z' || p.pid == ::getpid()) continue;
      if (root_reaped && p.pid == root) continue;  // a new process that reused the pid
      auto known = members.find(p.pid);
      if (known != members.end()) {
        if (known->second == p.start_time) continue;
        members.erase(known);  // that pid now names another process
      }
      bool in_tree = (!root_reaped && p.pid == root) || p.session == root || p.pgrp == root ||
                     (!root_reaped && p.ppid == root) || members.count(p.ppid) > 0;
      if (!in_tree) continue;
      members[p.pid] = p.start_time;
      ++added;
      grew = true;
    }
  }
  return added;
}

void kill_tree_by_walk(int root, bool root_reaped, std::map<int, uint64_t>& members) {
  if (!root_reaped) ::kill(-root, SIGSTOP);
  for (int round = 0; round < 50; ++round) {
    size_t before = members.size();
    size_t added = collect_tree(root, root_reaped, members);
    for (auto& [pid, start] : members) {
      ProcEntry now = read_process(pid);
      if (now.pid && now.start_time == start) ::kill(pid, SIGSTOP);
    }
    if (added == 0 && members.size() == before) break;
  }
  if (!root_reaped) ::kill(-root, SIGKILL);
  for (auto& [pid, start] : members) {
    ProcEntry now = read_process(pid);
    if (now.pid && now.start_time == start) ::kill(pid, SIGKILL);
  }
}

}  // namespace lifehook
