// The command line of an OCI runtime (runc, crun): global options, the verb, its options. The wrapper
// only needs the verb, the bundle of create/run, and to take out its own --lifehook-* options.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lifehook_runtime {

struct Invocation {
  std::vector<std::string> runtime_args;  // argv for the real runtime, without argv[0] and --lifehook-* options
  std::optional<size_t> verb;             // index of the verb in runtime_args
  std::string bundle;                     // create/run: --bundle/-b, "" = the current directory
  std::string runtime;                    // --lifehook-runtime=PATH
  std::string hooks_dirs;                 // --lifehook-hooks-dir=DIR[:DIR...]
};

// Throws std::invalid_argument for a --lifehook-* option without a value.
Invocation parse_invocation(int argc, char** argv);

// Whether the verb makes a container from a bundle (the only verbs whose config.json is edited).
bool creates_container(const Invocation& inv);

}  // namespace lifehook_runtime
