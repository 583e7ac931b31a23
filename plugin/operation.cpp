#include "operation.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

namespace lifehook {

Operation::Operation(Context& ctx, uint64_t id, const Request& req, DoneFn done)
    : ctx_(ctx),
      id_(id),
      strand_(ctx.make_strand()),
      timer_(strand_),
      timeout_ms_(req.timeout_ms),
      what_(describe(req.handler, req.target)),
      kind_(handler_kind(req.handler)),
      done_(std::move(done)),
      started_(std::chrono::steady_clock::now()) {}

std::shared_ptr<Operation> Operation::create(Context& ctx, uint64_t id, const Request& req, DoneFn done) {
  auto op = std::make_shared<Operation>(ctx, id, req, std::move(done));
  // The run may outlive its operation (the operation delivers on a timeout's grace, or the host
  // frees the context): its way back is a weak reference, never `this`.
  op->run_ = make_handler_run(ctx.env(), op->strand_, req, [weak = op->weak_from_this()](Result r) {
    if (auto self = weak.lock()) self->finish(std::move(r));
  });
  return op;
}

void Operation::start() {
  boost::asio::post(strand_, [self = shared_from_this()] { self->on_start(); });
}

void Operation::stop(Outcome why) {
  boost::asio::post(strand_, [self = shared_from_this(), why] { self->on_stop(why); });
}

void Operation::on_start() {
  if (finished_) return;  // canceled (lifehook_ctx_free) before it reached the loop
  started_ = std::chrono::steady_clock::now();
  if (timeout_ms_ > 0) {
    timer_.expires_after(std::chrono::milliseconds(timeout_ms_));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->finished_) return;
      self->ctx_.log().info("op {}: {} timed out after {}ms", self->id_, self->what_, self->timeout_ms_);
      self->on_stop(Outcome::Timeout);
    });
  }
  started_run_ = true;
  try {
    run_->start();
  } catch (const std::exception& e) {
    // A handler that throws while starting must not take an event-loop thread down with it.
    Result r;
    r.message = kind_ + ": " + e.what();
    finish(std::move(r));
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
  // The run may still be unwinding (we are inside its call stack): release it from the loop later.
  // Last: once the table lets go, ~Context may proceed (it joins this thread before it destroys
  // anything this call still touches).
  boost::asio::post(strand_, [self] { self->run_.reset(); });
  ctx_.finished(id_);
}

}  // namespace lifehook
