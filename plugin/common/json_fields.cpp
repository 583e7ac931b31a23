#include "json_fields.hpp"

#include <cmath>

#include "errors.hpp"
#include "json_document.hpp"

namespace lifehook {

std::string json_value_text(const json& j) {
  std::string s = j.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

const json* field(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

void require_object(const json& j, const std::string& path) {
  if (!j.is_object()) throw_invalid(path, "must be an object", json_value_text(j));
}

std::string get_string(const json& obj, const char* key, const std::string& path, bool required) {
  const json* v = field(obj, key);
  if (!v) {
    if (required) throw_invalid(path + "." + key, "is required");
    return {};
  }
  if (!v->is_string()) throw_invalid(path + "." + key, "must be a string", json_value_text(*v));
  std::string s = v->get<std::string>();
  // A NUL would silently cut the string short at the first system call ("/tmp\0/x" runs in /tmp).
  if (s.find('\0') != std::string::npos) throw_invalid(path + "." + key, "must not contain NUL", json_value_text(*v));
  return s;
}

std::string get_line(const json& obj, const char* key, const std::string& path, bool required) {
  std::string s = get_string(obj, key, path, required);
  if (s.find_first_of("\r\n") != std::string::npos)
    throw_invalid(path + "." + key, "must not contain CR or LF", json_value_text(obj[key]));
  return s;
}

int64_t get_int(const json& obj, const char* key, const std::string& path, int64_t dflt) {
  const json* v = field(obj, key);
  if (!v) return dflt;
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    throw_invalid(path + "." + key, "is out of range (at most 9223372036854775807)", json_value_text(*v));
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  throw_invalid(path + "." + key, "must be an integer", json_value_text(*v));
}

bool get_bool(const json& obj, const char* key, const std::string& path, bool dflt) {
  const json* v = field(obj, key);
  if (!v) return dflt;
  if (!v->is_boolean()) throw_invalid(path + "." + key, "must be true or false", json_value_text(*v));
  return v->get<bool>();
}

json parse_json_text(std::string_view text, const std::string& path) {
  // Bounded: size, nesting, duplicate keys, syntax and numbers out of range (1e999), each with
  // the field path (plugin/common/json_document.hpp).
  return parse_json_document(text, path);
}

}  // namespace lifehook
