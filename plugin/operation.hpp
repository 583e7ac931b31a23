// One submitted handler: its strand, its timeout timer and exactly-once completion.
#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/steady_timer.hpp>

#include "context.hpp"

namespace lifehook {

class Operation : public std::enable_shared_from_this<Operation> {
 public:
  Operation(Context& ctx, uint64_t id, const Request& req, DoneFn done);
  void start();                  // posts the start onto the strand
  void stop(Outcome why);        // posts a stop (timeout/cancel) onto the strand

 private:
  void finish(Result r);

  Context& ctx_;
  uint64_t id_;
  Strand strand_;
  boost::asio::steady_timer timer_;
  int64_t timeout_ms_;
  std::string what_;
  DoneFn done_;
  std::shared_ptr<HandlerRun> run_;
  std::chrono::steady_clock::time_point started_;
  bool finished_ = false;
};

}  // namespace lifehook
