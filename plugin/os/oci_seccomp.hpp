// A container's seccomp profile (config.json linux.seccomp) compiled to a classic BPF program in
// the parent, with libseccomp, exactly as runc builds it: rules whose action equals the default
// are skipped, unknown syscall names are skipped, several conditions on the same argument become
// separate rules, and libseccomp's own no_new_privs handling is off (the process spec decides).
// The child then only has to hand the ready program to the kernel (one raw seccomp(2) call),
// which is what keeps the fork-to-exec path free of allocation.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "oci_config.hpp"

namespace lifehook {

struct SeccompProgram {
  std::vector<sock_filter> instructions;
  unsigned flags = 0;  // SECCOMP_FILTER_FLAG_*
  sock_fprog fprog() const {
    return sock_fprog{static_cast<unsigned short>(instructions.size()), const_cast<sock_filter*>(instructions.data())};
  }
};

// Throws Error(LIFEHOOK_E_INVALID) naming `path` when libseccomp rejects the profile.
SeccompProgram compile_seccomp(const OciSeccomp& profile, const std::string& path, std::vector<std::string>& warnings);

}  // namespace lifehook
