// PLACEHOLDER — replaced by the httpGet implementation.
#include "../plugin/errors.hpp"
#include "handler.hpp"

namespace lifehook {
std::shared_ptr<HandlerRun> make_http_get_run(RunEnv&, Strand, const Request&, Finish) {
  throw_unsupported("httpGet: not implemented yet");
}
}  // namespace lifehook
