// Checks across the pods of one input. Everything about one pod is the library's
// (lifehook_pod_validate): the CLI repeats none of its rules.
#pragma once

#include <vector>

#include "manifest.hpp"

namespace lifehook_cli {

// Pods of one input must have distinct names (they run side by side).
std::vector<Problem> check_distinct_pod_names(const std::vector<PodManifest>& pods);

}  // namespace lifehook_cli
