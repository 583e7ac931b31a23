// The one validator of a pod: every problem (what stops lifehook_pod_create) and every warning
// (a field the engine or the chosen driver does not implement, so it is ignored) with its JSON
// path, by the same parsing code that creates pods. lifehook_pod_validate returns it; pod
// creation keeps the warnings for the status ("warnings") so nothing is silently ignored.
#pragma once

#include <string>
#include <vector>

#include "driver.hpp"
#include "spec.hpp"

namespace lifehook::pod {

struct Validation {
  std::vector<Finding> problems;
  std::vector<Finding> warnings;
};

// Every field of the pod that neither the engine nor `driver` implements (a host's driver
// receives the whole Container and decides about the container-level fields itself).
std::vector<Finding> unimplemented_fields(const PodSpec& spec, const drivers::Driver& driver);

// The driver's own rules for each container (e.g. the process driver needs a command), every
// problem at once; a container whose command, args or env had a parse problem is skipped (partial).
void check_with_driver(const PodSpec& spec, const drivers::Driver& driver, const std::vector<Finding>& known,
                       std::vector<Finding>& out);

// {"valid": bool, "problems": [{"path", "message"}], "warnings": [{"path", "message"}]}
json validation_json(const Validation& v);
json findings_json(const std::vector<Finding>& list);

}  // namespace lifehook::pod
