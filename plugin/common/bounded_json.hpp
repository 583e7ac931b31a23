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
#include <unordered_set>
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

// nlohmann's DOM builder, with a stack beside it that knows the path, the depth and the keys
// seen in each open object.
class Sax {
 public:
  using json = nlohmann::json;
  Sax(json& root, const JsonLimits& limits) : dom_(root, /*allow_exceptions=*/true), limits_(limits) {}

  bool null() { return value(), dom_.null(); }
  bool boolean(bool b) { return value(), dom_.boolean(b); }
  bool number_integer(json::number_integer_t v) { return value(), dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return value(), dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) { return value(), dom_.number_float(v, s); }
  bool string(json::string_t& s) { return value(), dom_.string(s); }
  bool binary(json::binary_t& b) { return value(), dom_.binary(b); }
  bool start_object(std::size_t n) {
    open(true);
    return dom_.start_object(n);
  }
  bool key(json::string_t& k) {
    Frame& f = stack_.back();
    if (!f.keys.insert(k).second)
      fail(Kind::DuplicateKey, path_with_key(k), "duplicate key \"" + k + "\" (each key may appear once)");
    f.key = k;
    return dom_.key(k);
  }
  bool end_object() {
    stack_.pop_back();
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    open(false);
    return dom_.start_array(n);
  }
  bool end_array() {
    stack_.pop_back();
    return dom_.end_array();
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
    bool object = false;
    size_t count = 0;  // arrays: elements so far
    std::string key;   // objects: the current key
    std::unordered_set<std::string> keys;
  };

  using Kind = JsonInputError::Kind;
  [[noreturn]] void fail(Kind kind, std::string path, std::string why, std::string detail = {}) {
    if (path.size() > 160) path = path.substr(0, 150) + "...";  // 64 levels of [0] are noise
    throw JsonInputError(kind, std::move(path), std::move(why), std::move(detail));
  }

  // Every value (scalar or container) inside an array advances its index.
  void value() {
    if (!stack_.empty() && !stack_.back().object) ++stack_.back().count;
  }
  void open(bool object) {
    value();
    if (static_cast<int>(stack_.size()) >= limits_.max_depth)
      fail(Kind::Limit, path(), "nested deeper than " + std::to_string(limits_.max_depth) + " levels (the limit)");
    Frame f;
    f.object = object;
    stack_.push_back(std::move(f));
  }
  // The path of the value being read; `pending`: its array index has not been counted yet.
  std::string path(bool pending = false) const {
    std::string p;
    for (size_t i = 0; i < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if (f.object) {
        if (f.keys.empty()) break;
        if (!p.empty()) p += '.';
        p += f.key;
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
        p += f.key;
      } else {
        p += '[' + std::to_string(f.count - 1) + ']';
      }
    }
    return p;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  const JsonLimits& limits_;
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
