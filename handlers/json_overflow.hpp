// Where in a JSON document a number too large for a double sits ("1e999"): nlohmann::json refuses
// it with a bare out_of_range.406 and no position in the tree; this names the field.
#pragma once

#include <string>
#include <string_view>

namespace lifehook {

// The field path ("target.ports[0].containerPort", "" for the root) of the first number in
// `text` that overflows a double, and that number's text in `token`. Returns false when there is
// none (or the text stops being JSON before one).
bool locate_number_overflow(std::string_view text, std::string& path, std::string& token);

}  // namespace lifehook
