// status.qosClass, computed from the containers' resources as the API server does
// (pkg/apis/core/helper/qos: GetPodQOS, after the defaulting that copies a limit into a missing
// request): only cpu and memory count; no request or limit anywhere is BestEffort; every
// container limiting both, and the pod's summed requests equal to its summed limits, is
// Guaranteed; anything else Burstable.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "spec.hpp"

namespace lifehook::pod {

// "BestEffort" | "Burstable" | "Guaranteed"
std::string qos_class(const PodSpec& spec);

// A resource.Quantity ("100m", "0.5", "128Mi", "1G", "2e3") in nano-units; nullopt when it is not one.
std::optional<__int128> parse_quantity(std::string_view text);

}  // namespace lifehook::pod
