// One submitted handler: its strand, its timeout timer and exactly-once completion.
//
// Every state change happens on the operation's strand, so "natural finish", "timeout" and
// "cancel" are serialised: whichever reaches the strand first decides the outcome and the others
// become no-ops. The done callback is delivered exactly once, from an event-loop thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include <boost/asio/steady_timer.hpp>

#include "context.hpp"

namespace lifehook {

class Operation : public std::enable_shared_from_this<Operation> {
 public:
  Operation(Context& ctx, uint64_t id, const Request& req, DoneFn done);
  void start();            // posts the start onto the strand
  void stop(Outcome why);  // posts a stop (timeout/cancel) onto the strand
  // True once the done callback has been (or is being) delivered; readable from any thread.
  bool delivered() const { return delivered_.load(std::memory_order_acquire); }

  // How long a run may take to wind down after stop() before the operation completes without it
  // (a handler bug must never hang lifehook_ctx_free).
  static constexpr std::chrono::seconds kStopGrace{10};

 private:
  void on_start();
  void on_stop(Outcome why);
  void finish(Result r);

  Context& ctx_;
  uint64_t id_;
  Strand strand_;
  boost::asio::steady_timer timer_;  // the timeout, then the stop grace
  int64_t timeout_ms_;
  std::string what_;
  std::string kind_;
  DoneFn done_;
  std::shared_ptr<HandlerRun> run_;
  std::chrono::steady_clock::time_point started_;
  bool started_run_ = false;
  bool stopping_ = false;
  bool finished_ = false;
  std::atomic<bool> delivered_{false};
};

}  // namespace lifehook
