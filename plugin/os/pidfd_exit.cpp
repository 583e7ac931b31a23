#include "pidfd_exit.hpp"

#include <sys/ioctl.h>

#include <cstdint>

namespace lifehook {
namespace {

// struct pidfd_info, PIDFD_INFO_SIZE_VER0; defined here because distribution headers predate it.
struct PidfdInfo {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;  // a wait status, as from waitpid
};
static_assert(sizeof(PidfdInfo) == 64, "PIDFD_INFO_SIZE_VER0");
constexpr uint64_t kPidfdInfoExit = 1u << 3;
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);

}  // namespace

std::optional<int> pidfd_wait_status(int pidfd) {
  if (pidfd < 0) return std::nullopt;
  PidfdInfo info{};
  info.mask = kPidfdInfoExit;
  if (::ioctl(pidfd, kPidfdGetInfo, &info) != 0 || !(info.mask & kPidfdInfoExit)) return std::nullopt;
  return info.exit_code;
}

}  // namespace lifehook
