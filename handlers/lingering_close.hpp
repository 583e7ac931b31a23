// Closing a connection socket the way close() with SO_LINGER does, without ever blocking the
// calling (loop) thread.
//
// The kubelet's probe dialer sets SO_LINGER {1, 1 s} (kubernetes#89898) and so do we. With it,
// Linux's close() of an established TCP socket sends the FIN and then SLEEPS until that FIN is
// acknowledged or the linger time is over (tcp_close → sk_stream_wait_close, whatever O_NONBLOCK
// says). Against a peer that never acknowledges (an overloaded server with a full accept queue)
// every close() held a loop thread for the full second. Here the same steps happen on the event
// loop instead: shutdown(SHUT_WR) sends the FIN at once, a timer watches the connection's state
// (TCP_INFO) leave FIN_WAIT1 / CLOSING / LAST_ACK — the states close() would sleep in — and the
// descriptor is closed then, or when the linger time is over (with lingering switched off, so
// close() returns at once and the kernel goes on as it does after a linger timeout). Unread data
// (a server banner) still means an RST at close, as with close() itself; a socket that never
// connected closes at once. The wire sees what close() with SO_LINGER would have sent.
#pragma once

#include <boost/asio/io_context.hpp>

namespace lifehook {

// Takes ownership of `fd` (any socket; -1 is ignored). Never blocks. If the io_context stops
// before the connection settled, the descriptor is closed (without lingering) when its pending
// handler is destroyed.
void close_lingering(boost::asio::io_context& io, int fd);

// The same for a TCP socket the caller connected itself and never shut down (ESTABLISHED or
// CLOSE_WAIT, or CLOSE after a reset) with SO_LINGER {1, `linger_seconds`} set: what
// close_lingering would read from the socket first (the linger setting, the state before the
// FIN) is known, so only the unread-data check, the FIN and the state after it remain.
void close_connected_lingering(boost::asio::io_context& io, int fd, int linger_seconds);

}  // namespace lifehook
