#include "expansion.hpp"

#include <unordered_map>

#include "model.hpp"

namespace lifehook {

namespace {

constexpr char kOperator = '$';
constexpr char kOpener = '(';
constexpr char kCloser = ')';

struct Read {
  std::string_view text;  // the name (is_var) or the bytes to copy literally
  bool is_var;
  size_t advance;  // bytes consumed after the operator
};

// tryReadVariableName: `input` follows an operator and is not empty.
Read read_variable_name(std::string_view input) {
  if (input[0] == kOperator) return {input.substr(0, 1), false, 1};  // "$$": an escaped operator
  if (input[0] == kOpener) {
    size_t close = input.find(kCloser, 1);
    if (close != std::string_view::npos) return {input.substr(1, close - 1), true, close + 1};
    return {"(", false, 1};  // incomplete reference: "$(" is copied, scanning goes on after it
  }
  return {input.substr(0, 1), false, 1};  // an operator that begins no expression: "$x" as is
}

}  // namespace

std::string expand(std::string_view input, const ExpansionMapping& mapping) {
  std::string out;
  out.reserve(input.size());
  size_t checkpoint = 0;
  for (size_t cursor = 0; cursor < input.size(); ++cursor) {
    if (input[cursor] != kOperator || cursor + 1 >= input.size()) continue;
    out.append(input.substr(checkpoint, cursor - checkpoint));
    Read r = read_variable_name(input.substr(cursor + 1));
    if (r.is_var) {
      if (auto value = mapping(r.text)) {
        out += *value;
      } else {
        out += "$(";
        out.append(r.text);
        out += ')';
      }
    } else if (r.text == "$") {
      out += '$';
    } else {
      out += '$';
      out.append(r.text);
    }
    cursor += r.advance;
    checkpoint = cursor + 1;
  }
  if (checkpoint < input.size()) out.append(input.substr(checkpoint));
  return out;
}

std::string expand_vars(std::string_view s, const std::vector<EnvVar>& env) {
  return expand(s, [&env](std::string_view name) -> std::optional<std::string> {
    for (auto it = env.rbegin(); it != env.rend(); ++it)
      if (it->name == name) return it->value;
    return std::nullopt;
  });
}

void expand_env_values(std::vector<EnvVar>& env) {
  std::unordered_map<std::string, std::string> defined;  // tmpEnv: the entries so far, expanded
  auto lookup = [&defined](std::string_view name) -> std::optional<std::string> {
    auto it = defined.find(std::string(name));
    if (it == defined.end()) return std::nullopt;
    return it->second;
  };
  for (auto& e : env) {
    if (!e.value.empty()) e.value = expand(e.value, lookup);
    defined[e.name] = e.value;
  }
}

}  // namespace lifehook
