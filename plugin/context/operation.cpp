#include "operation.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/defer.hpp>
#include <boost/asio/post.hpp>

#include "../common/clock.hpp"

namespace lifehook {

Operation::Operation(Context& ctx, uint64_t id, const Request& req, DoneFn done, Strand strand)
    : ctx_(ctx),
      id_(id),
      strand_(std::move(strand)),
      timer_(strand_),
      timeout_ms_(req.timeout_ms),
      what_(describe(req.handler, req.target)),
      kind_(handler_kind(req.handler)),
      done_(std::move(done)),
      started_(std::chrono::steady_clock::now()) {}

std::shared_ptr<Operation> Operation::create(Context& ctx, uint64_t id, const Request& req, DoneFn done,
                                             const Strand* strand) {
  auto op = std::make_shared<Operation>(ctx, id, req, std::move(done), strand ? *strand : ctx.make_strand());
  // The run may outlive its operation (the operation delivers on a timeout's grace, or the host
  // frees the context): its way back is a weak reference, never `this`.
  op->run_ = make_handler_run(ctx.env(), op->strand_, req, [weak = op->weak_from_this()](Result r) {
    if (auto self = weak.lock()) self->finish(std::move(r));
  });
  return op;
}

void Operation::start() {
  // Already on the strand (a probe worker submitting on its own): no post, which would re-queue
  // the strand and wake another loop thread for it.
  if (strand_.running_in_this_thread()) return on_start();
  boost::asio::post(strand_, [self = shared_from_this()] { self->on_start(); });
}

void Operation::stop(Outcome why) {
  boost::asio::post(strand_, [self = shared_from_this(), why] { self->on_stop(why); });
}

void Operation::on_start() {
  if (finished_) return;  // canceled (lifehook_ctx_free) before it reached the loop
  started_ = std::chrono::steady_clock::now();
  started_run_ = true;
  try {
    run_->start();
  } catch (const std::exception& e) {
    // A handler that throws while starting must not take an event-loop thread down with it.
    Result r;
    r.message = kind_ + ": " + e.what();
    finish(std::move(r));
  }
  // The timeout counts from the start; it is armed after it, so that a run that finished inside
  // start() (a connect to a local listener) never arms and cancels a timer.
  if (timeout_ms_ > 0 && !finished_ && !stopping_) {
    timer_.expires_at(saturating_add(started_, std::chrono::milliseconds(timeout_ms_)));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->finished_) return;
      self->ctx_.log().info("op {}: {} timed out after {}ms", self->id_, self->what_, self->timeout_ms_);
      self->on_stop(Outcome::Timeout);
    });
  }
}

void Operation::on_stop(Outcome why) {
  if (finished_ || stopping_) return;
  stopping_ = true;
  if (!started_run_) {
    Result r;
    r.outcome = why;
    r.message = why == Outcome::Timeout ? "timed out before it started" : "canceled before it started";
    return finish(std::move(r));
  }
  // The run releases what it holds and finishes with `why`; should it never do so, complete
  // anyway after a grace so that lifehook_ctx_free and lifehook_run cannot hang on it.
  timer_.cancel();
  timer_.expires_after(kStopGrace);
  timer_.async_wait([self = shared_from_this(), why](const boost::system::error_code& ec) {
    if (ec || self->finished_) return;
    self->ctx_.log().error("op {}: {} did not stop within {}s; completing without it", self->id_, self->what_,
                           kStopGrace.count());
    Result r;
    r.outcome = why;
    r.message = "the handler did not stop in time";
    self->finish(std::move(r));
  });
  try {
    run_->stop(why);
  } catch (const std::exception& e) {
    ctx_.log().error("op {}: stopping {} failed: {}", id_, what_, e.what());
    Result r;
    r.outcome = why;
    r.message = std::string("stopping failed: ") + e.what();
    finish(std::move(r));
  }
}

void Operation::finish(Result r) {
  // On the strand. Keep ourselves alive until the end of this call even though the
  // context drops its reference in finished().
  auto self = shared_from_this();
  if (finished_) return;
  finished_ = true;
  timer_.cancel();
  r.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
  ctx_.log().debug("op {}: {} -> {} ({:.1f}ms) {}", id_, what_, outcome_name(r.outcome), r.duration_ms, r.message);
  delivered_.store(true, std::memory_order_release);
  DoneFn done = std::move(done_);
  if (done) {
    try {
      done(id_, r);
    } catch (const std::exception& e) {  // nothing may unwind through the event loop
      ctx_.log().error("op {}: the done callback failed: {}", id_, e.what());
    } catch (...) {
      ctx_.log().error("op {}: the done callback failed", id_);
    }
  }
  // The run may still be unwinding (we are inside its call stack): release it once the handler
  // that called us has returned — deferred to the loop (this thread; nothing else touches run_
  // after finished_), not posted to the strand, whose re-scheduling would wake another loop
  // thread. Last: once the table lets go, ~Context may proceed (it joins this thread before it
  // destroys anything this call still touches).
  boost::asio::defer(ctx_.io().get_executor(), [self] { self->run_.reset(); });
  ctx_.finished(id_);
}

}  // namespace lifehook
