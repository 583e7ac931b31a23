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
  char state = '?';         // 'Z' for a zombie
  uint64_t start_time = 0;  // clock ticks since boot: with the pid, identifies one process
};

// Every process visible in /proc (unreadable entries are skipped).
std::vector<ProcEntry> list_processes();

// Where the members of a tree can be. By default anywhere: every process in /proc is read. A root
// started inside a pid namespace whose init is `reaper` (container exec) has every process of its
// tree in that namespace, and an orphan there is adopted by that init (the root's own parent,
// outside, is no subreaper of the namespace: find_new_reaper() stops at its child_reaper), so the
// tree is within the descendants of `reaper` and of the root: a walk reads only those (a few
// entries, instead of ~10 µs for each of the node's hundreds or thousands of processes). A reaper
// that is gone (start time changed) or a kernel without /proc/<pid>/task/<tid>/children
// (CONFIG_PROC_CHILDREN) falls back to reading every process.
struct TreeScope {
  int reaper = -1;  // -1: anywhere
  uint64_t reaper_start_time = 0;
};

// The processes a walk of the tree rooted at `root` must read, per `scope`.
std::vector<ProcEntry> processes_in_scope(int root, const TreeScope& scope);
// One process, or an entry with pid 0 when it is gone.
ProcEntry read_process(int pid);

// The members of the tree rooted at `root` (a process we created with its own session): every
// live process in its session or process group, or descending from it or from a known member.
// `members` (pid -> start time) is extended in place; returns how many were added.
size_t collect_tree(int root, bool root_reaped, std::map<int, uint64_t>& members, const TreeScope& scope = {});

// SIGSTOPs the tree until a walk finds nothing new, then SIGKILLs every member (a stopped process
// cannot fork, so the set is closed). `members` may already hold processes seen earlier.
void kill_tree_by_walk(int root, bool root_reaped, std::map<int, uint64_t>& members, const TreeScope& scope = {});

}  // namespace lifehook
