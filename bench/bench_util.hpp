// Helpers shared by the benchmark programs (each is its own executable).
#pragma once

#include <cstdio>

namespace lifehook::bench {

// The 1-minute load average (/proc/loadavg), -1 when unreadable: every result states it.
inline double load_average() {
  double l = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

}  // namespace lifehook::bench
