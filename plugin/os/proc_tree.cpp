#include "proc_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <set>
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

namespace {

// Appends the pids listed in /proc/<pid>/task/<tid>/children of every thread of pid; false when
// the first of those files cannot be read.
bool append_children(int pid, std::deque<int>& out) {
  char path[96];
  std::snprintf(path, sizeof(path), "/proc/%d/task", pid);
  DIR* d = ::opendir(path);
  if (!d) return false;
  bool read_one = false;
  while (dirent* de = ::readdir(d)) {
    int tid = std::atoi(de->d_name);
    if (tid <= 0) continue;
    std::snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, tid);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    read_one = true;
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0 && text.size() < (1u << 20)) text.append(buf, static_cast<size_t>(n));
    ::close(fd);
    const char* p = text.c_str();
    char* end;
    for (long child; (child = std::strtol(p, &end, 10)) > 0; p = end) out.push_back(static_cast<int>(child));
  }
  ::closedir(d);
  return read_one;
}

// The reaper and the root and all their descendants; nullopt when the reaper's children cannot be
// listed (gone, or no CONFIG_PROC_CHILDREN).
std::optional<std::vector<ProcEntry>> descendants(int reaper, uint64_t reaper_start_time, int root) {
  std::vector<ProcEntry> out;
  ProcEntry r = read_process(reaper);
  if (!r.pid || r.start_time != reaper_start_time) return std::nullopt;
  std::deque<int> queue;
  if (!append_children(reaper, queue)) return std::nullopt;
  out.push_back(r);
  queue.push_back(root);
  std::set<int> seen = {reaper};
  while (!queue.empty() && seen.size() < (1u << 20)) {
    int pid = queue.front();
    queue.pop_front();
    if (!seen.insert(pid).second) continue;
    ProcEntry e = read_process(pid);
    if (!e.pid) continue;
    out.push_back(e);
    // A zombie has no children: exit_notify() hands them to their new reaper before the process
    // becomes one (kernel/exit.c, forget_original_parent). The exec's own leader is a zombie when
    // its tree is collected at the reap, so this saves reading its task directory on every exec.
    if (e.state != 'Z') append_children(pid, queue);
  }
  return out;
}

}  // namespace

std::vector<ProcEntry> processes_in_scope(int root, const TreeScope& scope) {
  if (scope.reaper > 0)
    if (auto below = descendants(scope.reaper, scope.reaper_start_time, root)) return std::move(*below);
  return list_processes();
}

size_t collect_tree(int root, bool root_reaped, std::map<int, uint64_t>& members, const TreeScope& scope) {
  std::vector<ProcEntry> procs = processes_in_scope(root, scope);
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

void kill_tree_by_walk(int root, bool root_reaped, std::map<int, uint64_t>& members, const TreeScope& scope) {
  if (!root_reaped) ::kill(-root, SIGSTOP);
  for (int round = 0; round < 50; ++round) {
    size_t before = members.size();
    size_t added = collect_tree(root, root_reaped, members, scope);
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
