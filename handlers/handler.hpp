// The interface between the engine (plugin/) and the handler implementations: a HandlerRun is
// one execution of one handler, living on one strand of the context's event loop. The
// operation that owns it (plugin/context/operation.hpp) enforces the timeout, cancellation and the
// exactly-once completion; a handler only does its own work and reports one Result.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <functional>
#include <memory>
#include <string>

#include "../plugin/common/strand.hpp"
#include "model.hpp"

namespace spdlog {
class logger;
}

namespace lifehook {

class CurlMulti;      // handlers/curl_multi.hpp: libcurl multi driven by the event loop
class CgroupManager;  // plugin/os/cgroup.hpp: per-process-tree cgroups for clean kills

// Context options that shape handler behaviour (lifehook_ctx_new options JSON).
struct HandlerOptions {
  size_t max_output_bytes = 10240;
  std::string user_agent;  // empty: lifehook/<version>
  bool kubelet_compat = false;
  bool verify_tls = false;
};

// What a handler run may use from its context. Outlives every run (the context waits for all).
struct RunEnv {
  boost::asio::io_context& io;
  const HandlerOptions& options;
  spdlog::logger& log;
  CurlMulti& curl;
  CgroupManager& cgroups;
};

using Finish = std::function<void(Result)>;

// The completion of one run: the first call delivers, later calls are no-ops (a timeout racing
// a natural finish is normal). Only used on the run's strand.
class Completion {
 public:
  explicit Completion(Finish f) : finish_(std::move(f)) {}
  bool done() const { return !finish_; }
  void operator()(Result r) {
    if (!finish_) return;
    auto f = std::move(finish_);
    finish_ = nullptr;
    f(std::move(r));
  }
  void operator()(Outcome o, std::string message) {
    Result r;
    r.outcome = o;
    r.message = std::move(message);
    (*this)(std::move(r));
  }

 private:
  Finish finish_;
};

class HandlerRun {
 public:
  virtual ~HandlerRun() = default;
  // Begins the work; called once, on the run's strand. Must eventually call finish exactly once.
  virtual void start() = 0;
  // Timeout or cancel; called on the run's strand at most once, possibly after finish was called.
  // The run must release everything it holds (kill and reap processes, close sockets) and then
  // finish with `why` unless it already finished.
  virtual void stop(Outcome why) = 0;
};

std::shared_ptr<HandlerRun> make_exec_run(RunEnv& env, Strand strand, const Request& req, Finish finish);
std::shared_ptr<HandlerRun> make_http_get_run(RunEnv& env, Strand strand, const Request& req, Finish finish);
std::shared_ptr<HandlerRun> make_tcp_socket_run(RunEnv& env, Strand strand, const Request& req, Finish finish);
std::shared_ptr<HandlerRun> make_sleep_run(RunEnv& env, Strand strand, const Request& req, Finish finish);
std::shared_ptr<HandlerRun> make_grpc_run(RunEnv& env, Strand strand, const Request& req, Finish finish);

// Dispatches on the request's handler kind.
std::shared_ptr<HandlerRun> make_handler_run(RunEnv& env, Strand strand, const Request& req, Finish finish);

}  // namespace lifehook
