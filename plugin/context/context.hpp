// A lifehook_ctx: one Asio io_context run by a small fixed pool of threads, the shared
// services handlers use (curl multi, cgroups, logger) and the table of operations in flight.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../../handlers/handler.hpp"
#include "../common/logging.hpp"

namespace lifehook {

class Operation;

// The context's io_context, with the one extra power ~Context needs: destroying the handlers
// still queued after the threads are gone, while the services they refer to (RunEnv) still exist.
class EventLoop : public boost::asio::io_context {
 public:
  using boost::asio::io_context::io_context;
  void discard_pending() { shutdown(); }
};

struct ContextOptions {
  int threads = 2;
  int log_level = 3;  // warning
  HandlerOptions handler;
};

ContextOptions parse_context_options(const char* options_json);

using DoneFn = std::function<void(uint64_t op, const Result& result)>;

class Context {
 public:
  explicit Context(const ContextOptions& options);
  ~Context();  // cancels everything, reaps every child, joins every thread
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Starts a handler; `done` runs exactly once on an event-loop thread. Returns the op id (> 0).
  // With `strand` the operation runs on it (and starts at once when called on it, so `done` may
  // already have run when submit returns); otherwise on a strand of its own.
  uint64_t submit(const Request& req, DoneFn done, const Strand* strand = nullptr);
  // False when the operation is unknown or already finished.
  bool cancel(uint64_t op);
  // submit + wait.
  Result run(const Request& req);

  void set_logger(lifehook_log_fn fn, void* user, int min_level) { logger_.set_callback(fn, user, min_level); }
  spdlog::logger& log() { return logger_.get(); }
  boost::asio::io_context& io() { return io_; }
  Strand make_strand() { return boost::asio::make_strand(io_); }
  RunEnv& env() { return *env_; }
  const ContextOptions& options() const { return options_; }
  bool on_loop_thread() const;
  // Threads the context runs (its event loop); for tests and diagnostics.
  static constexpr const char* kThreadName = "lifehook-loop";

  // Objects tied to the context (pods) register a closer, run by ~Context before the loop stops.
  void add_closer(const void* key, std::function<void()> close);
  void remove_closer(const void* key);

 private:
  friend class Operation;
  void finished(uint64_t op);
  void loop();  // body of each event-loop thread
  // Counts the contexts of this process; the last one out releases process-wide caches.
  static void count_live(int delta);

  ContextOptions options_;
  Logger logger_;
  EventLoop io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<CurlMulti> curl_;
  std::unique_ptr<CgroupManager> cgroups_;
  std::unique_ptr<RunEnv> env_;
  std::vector<std::thread> threads_;

  std::mutex mu_;
  std::condition_variable idle_;
  std::map<uint64_t, std::shared_ptr<Operation>> ops_;
  std::map<const void*, std::function<void()>> closers_;
  uint64_t next_op_ = 1;
  bool closing_ = false;
};

}  // namespace lifehook
