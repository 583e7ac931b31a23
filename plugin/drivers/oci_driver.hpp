// The `oci` driver's factory (oci_driver.cpp). `options` is the pod options object (its oci
// fields: runtime, root, stateDir, rootfs, network, seccomp, execMode; null = defaults).
#pragma once

#include <memory>

#include "../pod/driver.hpp"

namespace lifehook::drivers {

std::unique_ptr<Driver> make_oci_driver(DriverEnv env, const json& options);

}  // namespace lifehook::drivers
