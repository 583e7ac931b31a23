#include "operation.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace lifehook {

Operation::Operation(Context& ctx, uint64_t id, const Request& req, DoneFn done)
    : ctx_(ctx),
      id_(id),
      strand_(ctx.make_strand()),
      timer_(strand_),
      timeout_ms_(req.timeout_ms),
      what_(describe(req.handler, req.target)),
      done_(std::move(done)) {
  // The operation owns its run, so the run's finish may refer to the operation directly.
  run_ = make_handler_run(ctx.env(), strand_, req, [this](Result r) { finish(std::move(r)); });
}

void Operation::start() {
  boost::asio::post(strand_, [self = shared_from_this()] {
    self->started_ = std::chrono::steady_clock::now();
    if (self->timeout_ms_ > 0) {
      self->timer_.expires_after(std::chrono::milliseconds(self->timeout_ms_));
      self->timer_.async_wait([self](const boost::system::error_code& ec) {
        if (!ec && !self->finished_) {
          self->ctx_.log().info("op {}: {} timed out after {}ms", self->id_, self->what_, self->timeout_ms_);
          self->run_->stop(Outcome::Timeout);
        }
      });
    }
    self->run_->start();
  });
}

void Operation::stop(Outcome why) {
  boost::asio::post(strand_, [self = shared_from_this(), why] {
    if (!self->finished_) self->run_->stop(why);
  });
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
  DoneFn done = std::move(done_);
  if (done) done(id_, r);
  // The run may still be unwinding (we are inside its call stack): release it from the loop later.
  boost::asio::post(strand_, [self] { self->run_.reset(); });
  ctx_.finished(id_);
}

}  // namespace lifehook
