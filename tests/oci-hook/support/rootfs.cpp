#include "rootfs.hpp"

#include <elf.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace ocihook_test {

namespace {

// True for an ELF64 executable without a program interpreter (statically linked): a dynamic
// busybox would not run in a rootfs without its libraries.
bool is_static_elf(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  Elf64_Ehdr eh{};
  if (!f.read(reinterpret_cast<char*>(&eh), sizeof eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64)
    return false;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    f.seekg(static_cast<std::streamoff>(eh.e_phoff + static_cast<uint64_t>(i) * eh.e_phentsize));
    if (!f.read(reinterpret_cast<char*>(&ph), sizeof ph)) return false;
    if (ph.p_type == PT_INTERP) return false;
  }
  return true;
}

}  // namespace

std::string static_busybox() {
  for (const char* p : {"/bin/busybox", "/usr/bin/busybox"})
    if (::access(p, X_OK) == 0 && is_static_elf(p)) return p;
  return {};
}

void make_busybox_rootfs(const std::string& dir) {
  fs::create_directories(dir + "/bin");
  fs::create_directories(dir + "/tmp");
  fs::copy_file(static_busybox(), dir + "/bin/busybox");
  for (const char* applet : {"sh", "echo", "cat", "sleep", "hostname", "true", "false", "date", "env", "ls"})
    fs::create_symlink("busybox", dir + "/bin/" + applet);
}

}  // namespace ocihook_test
