// The library's one way to read a JSON document it is given (request, options, Pod, config.json,
// a driver's info): parse_bounded_json (size, nesting, duplicate keys; bounded_json.hpp) with its
// refusal turned into Error(LIFEHOOK_E_INVALID) "<field path>: <why>".
#pragma once

#include <string>
#include <string_view>

#include "bounded_json.hpp"
#include "errors.hpp"

namespace lifehook {

// `name` names the document in messages about all of it ("request: is not valid JSON (...)");
// field paths are named from the document's root ("target.env[0]"), or below `field_root` when
// given ("options.threads").
inline nlohmann::json parse_json_document(std::string_view text, const std::string& name,
                                          std::string_view field_root = {}) {
  try {
    return parse_bounded_json(text);
  } catch (const JsonInputError& e) {
    throw_invalid(e.path().empty() ? name : e.under(field_root), e.why());
  }
}

}  // namespace lifehook
