// Typed reads of JSON fields with path-aware errors, shared by every parser of the library
// (requests, pods, probes, options, an OCI bundle's config.json): each refusal is
// Error(LIFEHOOK_E_INVALID) "<path>: <why> (got <value>)".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace lifehook {

using json = nlohmann::json;

// The field `key` of `obj`, or null when obj is no object or the field is absent or null.
const json* field(const json& obj, const char* key);
// Strings never hold NUL (it would silently cut them short at a system call); get_line also
// refuses CR and LF, for every string that ends up in a path, a name, a header or a log line.
std::string get_string(const json& obj, const char* key, const std::string& path, bool required = false);
std::string get_line(const json& obj, const char* key, const std::string& path, bool required = false);
int64_t get_int(const json& obj, const char* key, const std::string& path, int64_t dflt);
bool get_bool(const json& obj, const char* key, const std::string& path, bool dflt);
void require_object(const json& j, const std::string& path);
std::string json_value_text(const json& j);  // short rendering of a value for messages
// Parses a JSON document; on a syntax error throws Error(LIFEHOOK_E_INVALID) "<path>: is not valid
// JSON (parse error at line L, column C: ...)" so the caller can find the fault in their text.
json parse_json_text(std::string_view text, const std::string& path);

}  // namespace lifehook
