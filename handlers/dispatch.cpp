#include "handler.hpp"

namespace lifehook {

std::shared_ptr<HandlerRun> make_handler_run(RunEnv& env, Strand strand, const Request& req, Finish finish) {
  switch (req.handler.index()) {
    case 0: return make_exec_run(env, std::move(strand), req, std::move(finish));
    case 1: return make_http_get_run(env, std::move(strand), req, std::move(finish));
    case 2: return make_tcp_socket_run(env, std::move(strand), req, std::move(finish));
    case 3: return make_sleep_run(env, std::move(strand), req, std::move(finish));
    default: return make_grpc_run(env, std::move(strand), req, std::move(finish));
  }
}

}  // namespace lifehook
