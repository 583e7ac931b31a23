// Kubernetes $(VAR) expansion, exactly as third_party/forked/golang/expansion/expand.go: "$(NAME)"
// is replaced by NAME's value, "$$" is a literal "$", a reference to an undefined name and an
// unterminated "$(" stay as written, and the name runs to the FIRST ')' — so a nested reference
// such as "$(A$(B))" looks up the name "A$(B" and, undefined, stays literal.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifehook {

struct EnvVar;

// The name → value lookup Expand uses; std::nullopt when the name is undefined (the reference is
// then kept as "$(NAME)", as MappingFuncFor does).
using ExpansionMapping = std::function<std::optional<std::string>(std::string_view)>;

std::string expand(std::string_view input, const ExpansionMapping& mapping);

// expand() with `env` as the mapping: the last definition of a name wins (a Go map built in order).
std::string expand_vars(std::string_view s, const std::vector<EnvVar>& env);

// The values a container's process sees (kubelet_pods.go makeEnvironmentVariables): each value is
// expanded from the entries defined BEFORE it ("B=$(A)-y" after "A=x" gives "x-y"; a reference to
// a later or undefined entry stays literal). Expands `env` in place.
void expand_env_values(std::vector<EnvVar>& env);

}  // namespace lifehook
