// A minimal container root filesystem: busybox-static as /bin/busybox plus the applets the tests
// use as symlinks. Shared by the runc bundle and the podman --rootfs tests.
#pragma once

#include <string>

namespace ocihook_test {

// Path of a statically linked busybox on the host, "" when there is none.
std::string static_busybox();
// Creates `dir` with bin/ (busybox + applets) and tmp/.
void make_busybox_rootfs(const std::string& dir);

}  // namespace ocihook_test
