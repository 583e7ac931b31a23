#include "loopback.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace ocihook_test {

namespace {

int bound_loopback_socket(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind failed");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// Waits for the listening socket or the stop pipe; true when a connection is ready.
bool wait_readable(int fd, int stop_fd) {
  pollfd p[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  for (;;) {
    int r = ::poll(p, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (p[1].revents & (POLLIN | POLLHUP))) return false;
    if (p[0].revents & POLLIN) return true;
  }
}

}  // namespace

GatedPort::GatedPort() {
  fd_ = bound_loopback_socket(&port_);
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
}

GatedPort::~GatedPort() {
  ::close(stop_pipe_[1]);
  if (thread_.joinable()) thread_.join();
  ::close(stop_pipe_[0]);
  ::close(fd_);
}

void GatedPort::open() {
  if (opened_) return;
  opened_at_ = Clock::now();
  if (::listen(fd_, 64) != 0) throw std::runtime_error("listen failed");
  opened_ = true;
  thread_ = std::thread([this] { accept_loop(); });
}

Clock::time_point GatedPort::first_connection_at() const {
  std::lock_guard lock(mu_);
  return first_;
}

void GatedPort::accept_loop() {
  while (wait_readable(fd_, stop_pipe_[0])) {
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    {
      std::lock_guard lock(mu_);
      if (first_ == Clock::time_point::max()) first_ = Clock::now();
    }
    ++connections_;
    ::close(c);
  }
}

HttpRecorder::HttpRecorder() {
  fd_ = bound_loopback_socket(&port_);
  if (::listen(fd_, 64) != 0) throw std::runtime_error("listen failed");
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  thread_ = std::thread([this] { serve(); });
}

HttpRecorder::~HttpRecorder() {
  ::close(stop_pipe_[1]);
  if (thread_.joinable()) thread_.join();
  ::close(stop_pipe_[0]);
  ::close(fd_);
}

std::vector<std::string> HttpRecorder::request_lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

bool HttpRecorder::wait_for(const std::string& needle, std::chrono::milliseconds timeout) const {
  auto end = Clock::now() + timeout;
  do {
    for (const auto& l : request_lines())
      if (l.find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (Clock::now() < end);
  return false;
}

void HttpRecorder::serve() {
  while (wait_readable(fd_, stop_pipe_[0])) {
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::string req;
    char buf[4096];
    // Read the head (bounded in time so a silent client cannot stall the test server).
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) break;
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      req.append(buf, static_cast<size_t>(n));
    }
    {
      std::lock_guard lock(mu_);
      lines_.push_back(req.substr(0, req.find("\r\n")));
    }
    static const char kReply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    [[maybe_unused]] ssize_t w = ::write(c, kReply, sizeof kReply - 1);
    ::close(c);
  }
}

}  // namespace ocihook_test
