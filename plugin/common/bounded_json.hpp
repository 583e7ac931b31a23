// Bounded JSON: every JSON document lifehook reads from outside (requests, options, Pods, the
// OCI hook's state, annotations and config.json, a driver's info) goes through
// parse_bounded_json, which refuses
// - a document larger than a size limit (default 4 MiB),
// - nesting deeper than a depth limit (default 64 levels; the parser itself is iterative, but
//   everything that walks or prints a document afterwards recurses, so depth is what would
//   overflow the host's stack),
// - a key given twice in one object (last-one-wins would make the request mean something
//   other than what one of its readers sees; Kubernetes' strict decoding refuses it too),
// - syntax errors, numbers out of range (1e999) and invalid UTF-8,
// each with the JSON path where it happened. Header-only: the library, the CLI and the OCI hook
// (which only link the library's C ABI) share this one implementation.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lifehook {

inline constexpr size_t kMaxJsonBytes = size_t{4} << 20;
inline constexpr int kMaxJsonDepth = 64;

struct JsonLimits {
  size_t max_bytes = kMaxJsonBytes;
  int max_depth = kMaxJsonDepth;
};

// A refused document: `path` is where (relative to the document: "target.env[3]", "" for the
// whole document), `why` what is wrong. what() is "<path>: <why>" (or "<why>").
class JsonInputError : public std::runtime_error {
 public:
  enum class Kind { Syntax, Limit, DuplicateKey };
  JsonInputError(Kind kind, std::string path, std::string why, std::string detail = {})
      : std::runtime_error(path.empty() ? why : path + ": " + why),
        kind_(kind),
        path_(std::move(path)),
        why_(std::move(why)),
        detail_(std::move(detail)) {}
  Kind kind() const { return kind_; }
  const std::string& path() const { return path_; }
  const std::string& why() const { return why_; }
  // Syntax errors: the parser's own text ("parse error at line 1, column 2: ...").
  const std::string& detail() const { return detail_; }
  // The path below a document name: under("request") is "request.target.env[3]".
  std::string under(std::string_view root) const {
    if (path_.empty()) return std::string(root);
    if (root.empty()) return path_;
    return std::string(root) + (path_[0] == '[' ? "" : ".") + path_;
  }

 private:
  Kind kind_;
  std::string path_;
  std::string why_;
  std::string detail_;
};

namespace bounded_json_detail {

// The DOM builder (what nlohmann's json_sax_dom_parser does), with a stack beside it that knows
// the path and the depth. A key is refused as a duplicate by the object's own map: inserting it
// finds the one already there, so no set of keys is kept beside the document.
class Sax {
 public:
  using json = nlohmann::json;
  Sax(json& root, const JsonLimits& limits) : root_(root), limits_(limits) {}

  bool null() { return put(nullptr), true; }
  bool boolean(bool b) { return put(b), true; }
  bool number_integer(json::number_integer_t v) { return put(v), true; }
  bool number_unsigned(json::number_unsigned_t v) { return put(v), true; }
  bool number_float(json::number_float_t v, const json::string_t&) { return put(v), true; }
  bool string(json::string_t& s) { return put(s), true; }
  bool binary(json::binary_t& b) { return put(std::move(b)), true; }
  bool start_object(std::size_t) {
    open(true);
    return true;
  }
  bool key(json::string_t& k) {
    Frame& f = stack_.back();
    auto [it, fresh] = f.value->get_ref<json::object_t&>().try_emplace(k);
    if (!fresh) fail(Kind::DuplicateKey, path_with_key(k), "duplicate key \"" + k + "\" (each key may appear once)");
    f.key = &it->first;
    element_ = &it->second;
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    open(false);
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  template <class Exception>
  bool parse_error(std::size_t, const std::string& token, const Exception& e) {
    // The value that failed has not advanced its array's index yet.
    std::string at = path(/*pending=*/true);
    if (e.id == 406) fail(Kind::Limit, at, "is a number out of range (larger than a double holds; got " + token + ")");
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." → the human part.
    std::string why = e.what();
    if (auto pos = why.find("] "); why.rfind("[json.exception", 0) == 0 && pos != std::string::npos)
      why.erase(0, pos + 2);
    // The position in the text is what locates a syntax error; a field path could mislead.
    fail(Kind::Syntax, "", "is not valid JSON (" + why + ")", why);
  }

 private:
  struct Frame {
    json* value = nullptr;  // the object or array being filled
    bool object = false;
    size_t count = 0;                  // arrays: elements so far
    const std::string* key = nullptr;  // objects: the current key (in the object's map), none yet
  };

  using Kind = JsonInputError::Kind;
  [[noreturn]] void fail(Kind kind, std::string path, std::string why, std::string detail = {}) {
    if (path.size() > 160) path = path.substr(0, 150) + "...";  // 64 levels of [0] are noise
    throw JsonInputError(kind, std::move(path), std::move(why), std::move(detail));
  }

  // Stores a value where the parser is (json_sax_dom_parser::handle_value): the root, the next
  // element of the open array, or the value of the open object's current key. Every value
  // inside an array advances its index.
  template <class Value>
  json* put(Value&& v) {
    if (stack_.empty()) {
      root_ = json(std::forward<Value>(v));
      return &root_;
    }
    Frame& f = stack_.back();
    if (!f.object) {
      ++f.count;
      auto& array = f.value->get_ref<json::array_t&>();
      array.emplace_back(std::forward<Value>(v));
      return &array.back();
    }
    *element_ = json(std::forward<Value>(v));
    return element_;
  }
  void open(bool object) {
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      if (!stack_.empty() && !stack_.back().object) ++stack_.back().count;  // the path names the refused value
      fail(Kind::Limit, path(), "nested deeper than " + std::to_string(limits_.max_depth) + " levels (the limit)");
    }
    json* v = put(object ? json::value_t::object : json::value_t::array);
    stack_.push_back(Frame{v, object, 0, nullptr});
  }
  // The path of the value being read; `pending`: its array index has not been counted yet.
  std::string path(bool pending = false) const {
    std::string p;
    for (size_t i = 0; i < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if (f.object) {
        if (!f.key) break;
        if (!p.empty()) p += '.';
        p += *f.key;
      } else {
        size_t index = f.count + (pending && i + 1 == stack_.size() ? 1 : 0);
        if (index == 0) break;
        p += '[' + std::to_string(index - 1) + ']';
      }
    }
    return p;
  }
  std::string path_with_key(const std::string& k) const {
    std::string p = path_without_last_key();
    return p.empty() ? k : p + "." + k;
  }
  // The path of the innermost object itself (its current key not included).
  std::string path_without_last_key() const {
    std::string p;
    for (size_t i = 0; i + 1 < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if (f.object) {
        if (!p.empty()) p += '.';
        p += *f.key;
      } else {
        p += '[' + std::to_string(f.count - 1) + ']';
      }
    }
    return p;
  }

  json& root_;
  const JsonLimits& limits_;
  json* element_ = nullptr;  // the value slot of the open object's current key
  std::vector<Frame> stack_;
};

}  // namespace bounded_json_detail

// Parses one JSON document within `limits`; throws JsonInputError.
inline nlohmann::json parse_bounded_json(std::string_view text, const JsonLimits& limits = {}) {
  if (text.size() > limits.max_bytes)
    throw JsonInputError(JsonInputError::Kind::Limit, "",
                         "is larger than " + std::to_string(limits.max_bytes) + " bytes (the limit; got " +
                             std::to_string(text.size()) + ")");
  nlohmann::json root;
  bounded_json_detail::Sax sax(root, limits);
  nlohmann::json::sax_parse(text.begin(), text.end(), &sax, nlohmann::json::input_format_t::json, /*strict=*/true);
  return root;
}

}  // namespace lifehook
