// Sockets created inside another network namespace (a pod's), for the network handlers: with
// target.netns, 127.0.0.1 is the pod's loopback and the pod's own ports are reachable without a
// routable pod IP. Only the socket is created there; connecting, reading and writing happen on the
// event loop as for any other socket (a socket stays in the namespace it was created in).
#pragma once

#include <string>

#include "fd.hpp"

namespace lifehook {

// socket(domain, type | SOCK_CLOEXEC, protocol) inside the network namespace whose file is
// `netns_path` (/proc/<pid>/ns/net, /run/netns/<name>, a bind-mounted sandbox file). setns()
// moves only the calling thread, so a short-lived thread of its own enters the namespace, creates
// the socket and ends: no thread of the host ever stays in a foreign namespace. That thread
// inherits the caller's signal mask (a loop thread blocks every signal).
// The file is opened O_NONBLOCK and must be a namespace file (Error(LIFEHOOK_E_INVALID) naming
// target.netns otherwise): a FIFO can never block the calling loop thread.
// Throws Error(LIFEHOOK_E_SYSTEM) "target.netns: cannot enter <path>: <strerror>" (or "...: socket in
// <path>: ...") — never leaves a descriptor open on failure.
UniqueFd open_socket_in_netns(const std::string& netns_path, int domain, int type, int protocol);

}  // namespace lifehook
