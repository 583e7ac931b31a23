// One submitted handler: its strand, its timeout timer and exactly-once completion.
//
// Every state change happens on the operation's strand, so "natural finish", "timeout" and
// "cancel" are serialised: whichever reaches the strand first decides the outcome and the others
// become no-ops. The done callback is delivered exactly once, from an event-loop thread.
//
// Ownership (docs/DESIGN.md, "Who owns what after a cancel"):
// - the Context's table owns an Operation until it has delivered its result;
// - an Operation owns its HandlerRun; nothing else owns an Operation for longer than one
//   strand handler (timers and posts capture a shared_ptr, so they merely delay its end);
// - the run's finish callback, the only way back from the run to the operation, holds a
//   weak_ptr: a run that finishes after its operation delivered (a late curl removal, a stop
//   that outlived the grace) finds nothing and does nothing;
// - callbacks of the context's services (curl multi, pidfd watches, timers) own the run, never
//   the operation, and the services outlive every run (~Context joins the loop and discards what
//   is still queued before it destroys them).
#pragma once

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "context.hpp"

namespace lifehook {

class Operation : public std::enable_shared_from_this<Operation> {
 public:
  // Builds the operation and its run (which may throw: unsupported or invalid request). With
  // `strand`, the operation runs on that strand (its caller's, who then gets the done callback
  // there without a hop); otherwise on a new one.
  static std::shared_ptr<Operation> create(Context& ctx, uint64_t id, const Request& req, DoneFn done,
                                           const Strand* strand = nullptr);
  void start();            // starts on the strand: at once when called on it, else posted
  void stop(Outcome why);  // posts a stop (timeout/cancel) onto the strand
  // True once the done callback has been (or is being) delivered; readable from any thread.
  bool delivered() const { return delivered_.load(std::memory_order_acquire); }

  // How long a run may take to wind down after stop() before the operation completes without it
  // (a handler bug must never hang lifehook_ctx_free). Never reached by a correct handler: every
  // run finishes as soon as it has handed what it holds to its owner (e.g. the curl multi).
  static constexpr std::chrono::seconds kStopGrace{10};

  Operation(Context& ctx, uint64_t id, const Request& req, DoneFn done, Strand strand);  // use create()

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
