#include "lingering_close.hpp"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

namespace lifehook {

namespace {

using Clock = std::chrono::steady_clock;

// The TCP state of `fd` (TCP_ESTABLISHED, ...), or -1 when it is not a TCP socket.
int tcp_state(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
  return info.tcpi_state;
}

// The states in which close() with SO_LINGER sleeps (sk_stream_wait_close).
bool close_would_wait(int state) { return state == TCP_FIN_WAIT1 || state == TCP_CLOSING || state == TCP_LAST_ACK; }

// Closes without lingering: close() returns at once, the kernel finishes the connection alone.
void close_now(int fd) {
  linger off{0, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
  ::close(fd);
}

struct Lingering {
  Lingering(boost::asio::io_context& io, int fd, Clock::time_point deadline) : timer(io), fd(fd), deadline(deadline) {}
  ~Lingering() {
    if (fd >= 0) close_now(fd);
  }
  boost::asio::steady_timer timer;
  int fd;
  Clock::time_point deadline;
};

// Checks again after `step` (doubling, at most 20 ms: a settled connection is closed within
// 20 ms, and the linger deadline is kept to the millisecond).
void watch(std::shared_ptr<Lingering> l, std::chrono::milliseconds step) {
  auto wait =
      std::min<Clock::duration>(step, std::max<Clock::duration>(l->deadline - Clock::now(), Clock::duration(0)));
  l->timer.expires_after(wait);
  l->timer.async_wait([l, step](const boost::system::error_code& ec) {
    if (ec) return;  // the loop stops: ~Lingering closes
    if (!close_would_wait(tcp_state(l->fd)))
      ::close(l->fd);  // settled: close() returns at once, the linger setting untouched
    else if (Clock::now() < l->deadline)
      return watch(l, std::min(step * 2, std::chrono::milliseconds(20)));
    else
      close_now(l->fd);  // the linger second is over: what close() would have done then
    l->fd = -1;
  });
}

}  // namespace

namespace {

// From the FIN on: close now if close() would not sleep, else watch until it would return.
void finish_close(boost::asio::io_context& io, int fd, int state, int linger_seconds) {
  if (!close_would_wait(state)) {
    ::close(fd);
    return;
  }
  std::shared_ptr<Lingering> lingering;
  try {
    lingering = std::make_shared<Lingering>(io, fd, Clock::now() + std::chrono::seconds(linger_seconds));
  } catch (const std::bad_alloc&) {
    close_now(fd);
    return;
  }
  try {
    watch(std::move(lingering), std::chrono::milliseconds(1));
  } catch (const std::bad_alloc&) {  // not scheduled: ~Lingering closes it now
  }
}

bool has_unread(int fd) {
  int unread = 0;
  return ioctl(fd, SIOCINQ, &unread) == 0 && unread > 0;
}

}  // namespace

void close_lingering(boost::asio::io_context& io, int fd) {
  if (fd < 0) return;
  linger l{};
  socklen_t len = sizeof l;
  int state = tcp_state(fd);
  bool lingers = getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) == 0 && l.l_onoff && l.l_linger > 0;
  if (!lingers || state < 0 || has_unread(fd)) {
    ::close(fd);  // cannot sleep: no lingering, not TCP, or unread data (an RST, at once)
    return;
  }
  if (state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT) {
    ::shutdown(fd, SHUT_WR);  // the FIN close() would send
    state = tcp_state(fd);
  }
  finish_close(io, fd, state, l.l_linger);
}

void close_connected_lingering(boost::asio::io_context& io, int fd, int linger_seconds) {
  if (fd < 0) return;
  if (linger_seconds <= 0 || has_unread(fd)) {
    ::close(fd);
    return;
  }
  // ESTABLISHED or CLOSE_WAIT: the FIN; CLOSE (reset meanwhile): ENOTCONN, nothing sent, and the
  // state read next says close() cannot sleep.
  ::shutdown(fd, SHUT_WR);
  finish_close(io, fd, tcp_state(fd), linger_seconds);
}

}  // namespace lifehook
