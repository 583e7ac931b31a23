// PLACEHOLDER — replaced by the exec implementation.
#include "../plugin/errors.hpp"
#include "handler.hpp"

namespace lifehook {
std::shared_ptr<HandlerRun> make_exec_run(RunEnv&, Strand, const Request&, Finish) {
  throw_unsupported("exec: not implemented yet");
}
}  // namespace lifehook
