// A view of /proc for the no-cgroup fallback of process-tree kills (see cgroup.hpp): which
// processes belong to a tree, identified by pid plus start time so a reused pid is not mistaken
// for a member.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace lifehook {

struct ProcEntry {
  int pid = 0;
  int ppid = 0;
  int pgrp = 0;
  int session = 0;
  char state = '?';        // 'Z' for a zombie
  uint64_t start_time = 0;  // clock ticks since boot: with the pid, identifies one process
};

// Every process visible in /proc (unreadable entries are skipped).
std::vector<ProcEntry> list_processes();
// One process, or an entry with pid 0 when it is gone.
ProcEntry read_process(int pid);

// The members of the tree rooted at `root` (a process we created with its own session): every
// live process in its session or process group, or descending from it or from a known member.
// `members` (pid -> start time) is extended in place; returns how many were added.
size_t collect_tree(int root, bool root_reaped, std::map<int, uint64_t>& members);

// SIGSTOPs the tree until a walk finds nothing new, then SIGKILLs every member (a stopped process
// cannot fork, so the set is closed). `members` may already hold processes seen earlier.
void kill_tree_by_walk(int root, bool root_reaped, std::map<int, uint64_t>& members);

}  // namespace lifehook
