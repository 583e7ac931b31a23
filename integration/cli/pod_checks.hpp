// Structural checks of a Pod manifest before it reaches the library: every problem at once
// (the library stops at the first), each with its JSON path, so `validate` can list them all.
// The library's own validation (lifehook_pod_create) runs afterwards and stays the authority.
#pragma once

#include <string>
#include <vector>

#include "manifest.hpp"

namespace lifehook_cli {

struct CheckOptions {
  std::string driver = "process";  // the process driver needs a command in every container
};

std::vector<Problem> check_pod(const PodManifest& pod, const CheckOptions& options);

// Pods of one input must have distinct names (they run side by side).
std::vector<Problem> check_distinct_pod_names(const std::vector<PodManifest>& pods);

}  // namespace lifehook_cli
