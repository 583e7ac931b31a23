// Loopback endpoints the tests control: a port that is reserved but refuses connections until
// the test opens it (bound, not listening), and a minimal HTTP server that records request lines.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ocihook_test {

using Clock = std::chrono::steady_clock;

// Bound to 127.0.0.1:<ephemeral> without listen(): connects are refused and nothing else can take
// the port. open() starts listening and accepting (each connection is counted, then closed).
class GatedPort {
 public:
  GatedPort();
  ~GatedPort();
  int port() const { return port_; }
  void open();
  bool is_open() const { return opened_; }
  Clock::time_point opened_at() const { return opened_at_; }
  int connections() const { return connections_; }
  Clock::time_point first_connection_at() const;  // max() when none

 private:
  void accept_loop();
  int fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<bool> opened_{false};
  Clock::time_point opened_at_{};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  Clock::time_point first_{Clock::time_point::max()};
  std::thread thread_;
};

// Answers every request with "200 OK" and remembers its request line ("GET /path HTTP/1.1").
class HttpRecorder {
 public:
  HttpRecorder();
  ~HttpRecorder();
  int port() const { return port_; }
  std::vector<std::string> request_lines() const;
  // Waits until a request line containing `needle` arrived, up to `timeout`.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout) const;

 private:
  void serve();
  int fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
  std::thread thread_;
};

}  // namespace ocihook_test
