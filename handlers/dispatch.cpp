#include <variant>

#include "handler.hpp"

namespace lifehook {

namespace {

// One overload per handler kind: a kind added to HandlerSpec without one does not compile.
struct MakeRun {
  RunEnv& env;
  Strand& strand;
  const Request& req;
  Finish& finish;
  std::shared_ptr<HandlerRun> operator()(const ExecSpec&) const {
    return make_exec_run(env, std::move(strand), req, std::move(finish));
  }
  std::shared_ptr<HandlerRun> operator()(const HttpGetSpec&) const {
    return make_http_get_run(env, std::move(strand), req, std::move(finish));
  }
  std::shared_ptr<HandlerRun> operator()(const TcpSocketSpec&) const {
    return make_tcp_socket_run(env, std::move(strand), req, std::move(finish));
  }
  std::shared_ptr<HandlerRun> operator()(const SleepSpec&) const {
    return make_sleep_run(env, std::move(strand), req, std::move(finish));
  }
  std::shared_ptr<HandlerRun> operator()(const GrpcSpec&) const {
    return make_grpc_run(env, std::move(strand), req, std::move(finish));
  }
};

}  // namespace

std::shared_ptr<HandlerRun> make_handler_run(RunEnv& env, Strand strand, const Request& req, Finish finish) {
  return std::visit(MakeRun{env, strand, req, finish}, req.handler);
}

}  // namespace lifehook
