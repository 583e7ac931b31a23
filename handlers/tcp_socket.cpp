// tcpSocket: success when a TCP connection is established. Closed with SO_LINGER 1 s, as the
// kubelet's probe dialer does (kubernetes#89898): an orderly close without piling up TIME_WAIT —
// performed off the loop's back (lingering_close.hpp), so a peer that never acknowledges our FIN
// cannot hold a loop thread. With target.netns the socket is created inside that network
// namespace (127.0.0.1 is the pod's loopback) and then connected by the event loop as usual; host
// names resolve on the host, without blocking (name_lookup.hpp).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/defer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>

#include "../plugin/os/netns_socket.hpp"
#include "handler.hpp"
#include "lingering_close.hpp"
#include "name_lookup.hpp"

namespace lifehook {
namespace {

namespace ip = boost::asio::ip;

class TcpSocketRun final : public HandlerRun, public std::enable_shared_from_this<TcpSocketRun> {
 public:
  TcpSocketRun(boost::asio::io_context& io, Strand strand, std::string host, int port, std::string netns, Finish finish)
      : io_(io),
        strand_(strand),
        lookup_(strand, host, port),
        socket_(strand),
        host_(std::move(host)),
        port_(port),
        netns_(std::move(netns)),
        complete_(std::move(finish)) {}

  ~TcpSocketRun() override {
    if (fd_ >= 0) ::close(release());  // a socket whose last connect failed (no FIN to wait for)
  }

  void start() override {
    if (host_.empty()) return complete_(Outcome::Error, "tcpSocket: no host given and the target has no podIP");
    boost::system::error_code ec;
    auto addr = ip::make_address(host_, ec);
    if (!ec) return connect({ip::tcp::endpoint(addr, static_cast<unsigned short>(port_))});
    lookup_.start([self = shared_from_this()](std::vector<ip::tcp::endpoint> eps, std::string error) {
      if (self->complete_.done()) return;
      if (eps.empty())
        return self->complete_(Outcome::Failure,
                               "cannot resolve " + self->host_ + ": " + (error.empty() ? "no address" : error));
      self->connect(std::move(eps));
    });
  }

  void stop(Outcome why) override {
    lookup_.cancel();
    close();
    complete_(why,
              why == Outcome::Timeout ? "tcp " + where() + ": timed out connecting" : "tcp " + where() + ": canceled");
  }

 private:
  std::string where() const { return host_ + ":" + std::to_string(port_); }

  void connect(std::vector<ip::tcp::endpoint> eps) {
    endpoints_ = std::move(eps);
    try_next(0, {});
  }

  void try_next(size_t i, boost::system::error_code last) {
    if (complete_.done()) return;
    if (i >= endpoints_.size())
      return complete_(Outcome::Failure, "tcp " + where() + ": " + (last ? last.message() : "no address"));
    close();
    auto protocol = endpoints_[i].protocol();
    int fd = -1;
    if (netns_.empty()) {
      // A socket of our own, SOCK_CLOEXEC from the start: Asio's socket::open() passes no
      // SOCK_CLOEXEC, so a child the host forked meanwhile inherited it.
      fd = ::socket(protocol.family(), protocol.type() | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol.protocol());
      if (fd < 0) return try_next(i + 1, {errno, boost::system::system_category()});
    } else {
      try {
        fd = open_socket_in_netns(netns_, protocol.family(), protocol.type() | SOCK_NONBLOCK, protocol.protocol())
                 .release();
      } catch (const std::exception& e) {  // the namespace cannot be entered: the request's fault
        return complete_(Outcome::Error, "tcp " + where() + ": " + e.what());
      }
    }
    fd_ = fd;
    // The connect as Asio's async_connect does it (connect, then poll and SO_ERROR once the
    // socket is writable), except that the socket is first polled without waiting: a connect to a
    // local listener has completed by then and needs no registration with the reactor. Its result
    // is still handled after this handler, as a completion would be (runs queued meanwhile start
    // first), but on this thread: deferred, never a wake-up of another loop thread.
    boost::system::error_code ec;
    if (::connect(fd_, endpoints_[i].data(), static_cast<socklen_t>(endpoints_[i].size())) != 0 && errno != EINPROGRESS)
      return later(i, {errno, boost::system::system_category()});
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, 0) == 1)  // writable: connected, or failed (then SO_ERROR says why)
      return later(i, p.revents & (POLLERR | POLLHUP) ? socket_error() : ec);
    // Still in progress: wait for it on the loop.
    socket_.assign(protocol, fd_, ec);
    if (ec) return later(i, ec);
    socket_.async_wait(ip::tcp::socket::wait_write,
                       [self = shared_from_this(), i](const boost::system::error_code& ec) {
                         if (self->complete_.done()) return;
                         self->connected(i, ec ? ec : self->socket_error());
                       });
  }

  // The connect's result, after the current handler: deferred on the loop (this thread), then
  // on the strand (at once when it is free).
  void later(size_t i, boost::system::error_code ec) {
    boost::asio::defer(io_.get_executor(), [self = shared_from_this(), i, ec] {
      boost::asio::dispatch(self->strand_, [self, i, ec] {
        if (!self->complete_.done()) self->connected(i, ec);
      });
    });
  }

  // The descriptor, out of the reactor if it was waiting there.
  int release() {
    int fd = fd_;
    fd_ = -1;
    if (socket_.is_open()) {
      boost::system::error_code ec;
      socket_.cancel(ec);
      socket_.release(ec);
    }
    return fd;
  }

  boost::system::error_code socket_error() const {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    return {err, boost::system::system_category()};
  }

  void connected(size_t i, boost::system::error_code ec) {
    if (ec) {
      close();
      return try_next(i + 1, ec);
    }
    connected_ = true;
    close();
    complete_(Outcome::Success, "tcp " + where() + ": connected");
  }

  void close() {
    if (fd_ < 0) return;
    int fd = release();
    linger l{1, 1};  // as the kubelet's dialer; honoured without blocking (lingering_close.hpp)
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    if (connected_)
      close_connected_lingering(io_, fd, 1);
    else
      close_lingering(io_, fd);  // never connected (failed, timed out, canceled): closes at once
  }

  boost::asio::io_context& io_;
  Strand strand_;
  NameLookup lookup_;
  ip::tcp::socket socket_;
  std::string host_;
  int port_;
  std::string netns_;  // target.netns: the network namespace the socket is created in
  std::vector<ip::tcp::endpoint> endpoints_;
  bool connected_ = false;
  int fd_ = -1;  // the socket of the attempt in flight (registered with socket_ only while it waits)
  Completion complete_;
};

}  // namespace

std::shared_ptr<HandlerRun> make_tcp_socket_run(RunEnv& env, Strand strand, const Request& req, Finish finish) {
  const auto& spec = std::get<TcpSocketSpec>(req.handler);
  return std::make_shared<TcpSocketRun>(env.io, std::move(strand), spec.host.empty() ? req.target.pod_ip : spec.host,
                                        spec.port, req.target.netns, std::move(finish));
}

}  // namespace lifehook
