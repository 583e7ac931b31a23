// sleep: a timer on the event loop; cancellable (outcome canceled), bounded by the timeout.
#include <boost/asio/steady_timer.hpp>

#include "handler.hpp"

namespace lifehook {
namespace {

class SleepRun final : public HandlerRun, public std::enable_shared_from_this<SleepRun> {
 public:
  SleepRun(Strand strand, int64_t ms, Finish finish) : timer_(strand), ms_(ms), complete_(std::move(finish)) {}

  void start() override {
    timer_.expires_after(std::chrono::milliseconds(ms_));
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->complete_(Outcome::Success, "slept " + std::to_string(self->ms_) + "ms");
    });
  }

  void stop(Outcome why) override {
    timer_.cancel();
    complete_(why, why == Outcome::Timeout ? "sleep timed out" : "sleep canceled before it finished");
  }

 private:
  boost::asio::steady_timer timer_;
  int64_t ms_;
  Completion complete_;
};

}  // namespace

std::shared_ptr<HandlerRun> make_sleep_run(RunEnv&, Strand strand, const Request& req, Finish finish) {
  return std::make_shared<SleepRun>(std::move(strand), std::get<SleepSpec>(req.handler).milliseconds,
                                    std::move(finish));
}

}  // namespace lifehook
