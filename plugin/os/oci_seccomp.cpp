#include "oci_seccomp.hpp"

#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "../common/errors.hpp"
#include "fd.hpp"

namespace lifehook {
namespace {

struct FilterContext {
  scmp_filter_ctx ctx;
  ~FilterContext() {
    if (ctx) seccomp_release(ctx);
  }
};

[[noreturn]] void reject(const std::string& path, const std::string& what, int rc) {
  throw_invalid(path, what + ": " + std::strerror(-rc));
}

}  // namespace

SeccompProgram compile_seccomp(const OciSeccomp& profile, const std::string& path, std::vector<std::string>& warnings) {
  FilterContext f{seccomp_init(profile.default_action)};
  if (!f.ctx) throw_invalid(path + ".defaultAction", "rejected by libseccomp");
  // runc leaves no_new_privs to process.noNewPrivileges; libseccomp would set it on load otherwise
  // (we load the exported program ourselves, but keep the attribute consistent with runc's).
  seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (size_t i = 0; i < profile.architectures.size(); ++i) {
    int rc = seccomp_arch_add(f.ctx, profile.architectures[i]);
    if (rc < 0 && rc != -EEXIST) reject(path + ".architectures[" + std::to_string(i) + "]", "cannot be added", rc);
  }
  for (size_t i = 0; i < profile.rules.size(); ++i) {
    const OciSeccompRule& rule = profile.rules[i];
    std::string rp = path + ".syscalls[" + std::to_string(i) + "]";
    if (rule.action == profile.default_action) continue;  // runc: "ignore it, don't error"
    std::vector<scmp_arg_cmp> conds;
    int per_arg[6] = {};
    bool same_arg_twice = false;
    for (const OciSeccompArg& a : rule.args) {
      conds.push_back(scmp_arg_cmp{a.index, static_cast<scmp_compare>(a.op), a.value, a.value_two});
      if (++per_arg[a.index] > 1) same_arg_twice = true;
    }
    for (const std::string& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        warnings.push_back(rp + ".names: unknown syscall " + name + " skipped");
        continue;
      }
      int rc = 0;
      if (conds.empty()) {
        rc = seccomp_rule_add_array(f.ctx, rule.action, nr, 0, nullptr);
      } else if (same_arg_twice) {
        // libseccomp cannot AND two comparisons of one argument; runc adds one rule per condition.
        for (const scmp_arg_cmp& c : conds)
          if ((rc = seccomp_rule_add_array(f.ctx, rule.action, nr, 1, &c)) < 0) break;
      } else {
        rc = seccomp_rule_add_array(f.ctx, rule.action, nr, static_cast<unsigned>(conds.size()), conds.data());
      }
      if (rc < 0) reject(rp, "rule for " + name + " rejected by libseccomp", rc);
    }
  }

  // libseccomp 2.5 exports only to a descriptor: a memfd keeps it in memory.
  UniqueFd mem(::memfd_create("lifehook-seccomp", MFD_CLOEXEC));
  if (!mem) throw_system("seccomp: memfd_create", errno);
  if (int rc = seccomp_export_bpf(f.ctx, mem.get()); rc < 0) reject(path, "cannot be exported as BPF", rc);
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0 || size / sizeof(sock_filter) > BPF_MAXINSNS)
    throw_invalid(path, "compiles to " + std::to_string(size / sizeof(sock_filter)) +
                            " BPF instructions (the kernel takes at most " + std::to_string(BPF_MAXINSNS) + ")");
  SeccompProgram prog;
  prog.flags = profile.filter_flags;
  prog.instructions.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), prog.instructions.data(), static_cast<size_t>(size), 0) != size)
    throw_system("seccomp: read exported BPF", errno);
  return prog;
}

}  // namespace lifehook
