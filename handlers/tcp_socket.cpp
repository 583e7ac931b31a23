// tcpSocket: success when a TCP connection is established. Closed with SO_LINGER 1 s, as the
// kubelet's probe dialer does (kubernetes#89898): an orderly close without piling up TIME_WAIT —
// performed off the loop's back (lingering_close.hpp), so a peer that never acknowledges our FIN
// cannot hold a loop thread. With target.netns the socket is created inside that network
// namespace (127.0.0.1 is the pod's loopback) and then connected by the event loop as usual; host
// names resolve on the host, without blocking (name_lookup.hpp).
#include <sys/socket.h>
#include <unistd.h>

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
        lookup_(strand, host, port),
        socket_(strand),
        host_(std::move(host)),
        port_(port),
        netns_(std::move(netns)),
        complete_(std::move(finish)) {}

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
    boost::system::error_code ec;
    auto protocol = endpoints_[i].protocol();
    if (netns_.empty()) {
      // A socket of our own, SOCK_CLOEXEC from the start: Asio's socket::open() passes no
      // SOCK_CLOEXEC, so a child the host forked meanwhile inherited it.
      int fd = ::socket(protocol.family(), protocol.type() | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol.protocol());
      if (fd < 0) {
        ec.assign(errno, boost::system::system_category());
      } else {
        socket_.assign(protocol, fd, ec);
        if (ec) ::close(fd);
      }
    } else {
      try {
        UniqueFd fd = open_socket_in_netns(netns_, protocol.family(), protocol.type(), protocol.protocol());
        socket_.assign(protocol, fd.get(), ec);
        if (!ec) fd.release();             // the socket owns it now
      } catch (const std::exception& e) {  // the namespace cannot be entered: the request's fault
        return complete_(Outcome::Error, "tcp " + where() + ": " + e.what());
      }
    }
    if (ec) return try_next(i + 1, ec);
    socket_.async_connect(endpoints_[i], [self = shared_from_this(), i](const boost::system::error_code& ec) {
      if (self->complete_.done()) return;
      if (ec) return self->try_next(i + 1, ec);
      self->close();
      self->complete_(Outcome::Success, "tcp " + self->where() + ": connected");
    });
  }

  void close() {
    if (!socket_.is_open()) return;
    boost::system::error_code ec;
    socket_.set_option(boost::asio::socket_base::linger(true, 1), ec);
    socket_.cancel(ec);
    close_lingering(io_, socket_.release(ec));
  }

  boost::asio::io_context& io_;
  NameLookup lookup_;
  ip::tcp::socket socket_;
  std::string host_;
  int port_;
  std::string netns_;  // target.netns: the network namespace the socket is created in
  std::vector<ip::tcp::endpoint> endpoints_;
  Completion complete_;
};

}  // namespace

std::shared_ptr<HandlerRun> make_tcp_socket_run(RunEnv& env, Strand strand, const Request& req, Finish finish) {
  const auto& spec = std::get<TcpSocketSpec>(req.handler);
  return std::make_shared<TcpSocketRun>(env.io, std::move(strand), spec.host.empty() ? req.target.pod_ip : spec.host,
                                        spec.port, req.target.netns, std::move(finish));
}

}  // namespace lifehook
