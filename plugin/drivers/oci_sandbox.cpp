#include "oci_sandbox.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "../common/errors.hpp"

namespace lifehook::drivers {
namespace {

void release(const std::string& path) {
  if (path.empty()) return;
  ::umount2(path.c_str(), MNT_DETACH);
  ::unlink(path.c_str());
}

// Runs on a thread of its own: network, IPC and UTS namespaces belong to a thread, so unshare()
// there leaves the rest of the host untouched. The thread ends right after; the bind mounts keep
// the namespaces.
std::string make_namespaces(const std::string& net, const std::string& ipc, const std::string& uts,
                            const std::string& hostname) {
  if (::unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0)
    return std::string("unshare(net, ipc, uts): ") + std::strerror(errno);
  if (::sethostname(hostname.data(), std::min<size_t>(hostname.size(), 64)) != 0)
    return std::string("sethostname: ") + std::strerror(errno);
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return std::string("socket: ") + std::strerror(errno);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool up = ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags |= IFF_UP, ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0);
  int err = errno;
  ::close(s);
  if (!up) return std::string("bringing lo up: ") + std::strerror(err);
  const std::pair<const char*, const std::string*> binds[] = {{"net", &net}, {"ipc", &ipc}, {"uts", &uts}};
  for (const auto& [ns, path] : binds) {
    std::string src = std::string("/proc/thread-self/ns/") + ns;
    int fd = ::open(path->c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
    if (fd < 0) return "create " + *path + ": " + std::strerror(errno);
    ::close(fd);
    if (::mount(src.c_str(), path->c_str(), nullptr, MS_BIND, nullptr) != 0)
      return "bind " + src + " on " + *path + ": " + std::strerror(errno);
  }
  return {};
}

}  // namespace

PodSandbox::PodSandbox(const std::string& dir, const std::string& hostname)
    : net_(dir + "/netns"), ipc_(dir + "/ipcns"), uts_(dir + "/utsns") {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw_system("oci driver: create " + dir, ec.value());
  std::string error;
  std::thread([&] { error = make_namespaces(net_, ipc_, uts_, hostname); }).join();
  if (!error.empty()) {
    release(net_), release(ipc_), release(uts_);
    throw Error(LIFEHOOK_E_SYSTEM, "oci driver: pod sandbox: " + error);
  }
}

std::unique_ptr<PodSandbox> PodSandbox::existing(const std::string& dir) {
  std::unique_ptr<PodSandbox> sb(new PodSandbox);
  sb->net_ = dir + "/netns", sb->ipc_ = dir + "/ipcns", sb->uts_ = dir + "/utsns";
  constexpr long kNsfsMagic = 0x6e736673;  // NSFS_MAGIC: a namespace file, bind-mounted
  for (const std::string* path : {&sb->net_, &sb->ipc_, &sb->uts_}) {
    struct statfs fs {};
    if (::statfs(path->c_str(), &fs) != 0 || fs.f_type != kNsfsMagic) {
      sb->net_.clear(), sb->ipc_.clear(), sb->uts_.clear();  // nothing to release
      return nullptr;
    }
  }
  return sb;
}

PodSandbox::~PodSandbox() {
  release(net_);
  release(ipc_);
  release(uts_);
}

}  // namespace lifehook::drivers
