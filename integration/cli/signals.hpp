// SIGINT/SIGTERM/SIGHUP for the CLI's main thread, through a signalfd: the signals are blocked
// before the library starts its threads (which inherit the mask; the library gives its children
// an empty mask and default dispositions), so only our poll loop ever sees them.
#pragma once

#include <vector>

namespace lifehook_cli {

class SignalWatch {
 public:
  SignalWatch();  // blocks the signals and opens the signalfd; call before creating threads
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;
  int fd() const { return fd_; }
  // Signals received since the last call (non-blocking).
  std::vector<int> take();

 private:
  int fd_ = -1;
};

// An eventfd that wakes the main loop when a library thread queued something.
class Wakeup {
 public:
  Wakeup();
  ~Wakeup();
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;
  int fd() const { return fd_; }
  void notify();  // async-safe, any thread
  void clear();

 private:
  int fd_ = -1;
};

}  // namespace lifehook_cli
