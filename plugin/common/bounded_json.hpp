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

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
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

// The plain parser: a strict recursive-descent parser of the documents lifehook is usually given
// (ASCII text, integers of up to 18 digits, decimal numbers, the escapes \" \\ \/ \b \f \n \r \t),
// building the same DOM as nlohmann's parser with the checks above, several times faster: it reads
// each byte once, where nlohmann's lexer also keeps it for its error messages. It never refuses a
// document itself: on anything it does not take (a syntax error, a repeated key, nesting deeper than
// the limit or 64 levels, a \u escape, a byte past 0x7f, an integer of more digits, a number
// from_chars does not convert exactly) it answers false, and the document is parsed again by
// nlohmann's parser, whose refusal (or value) is then the answer: every error stays what it was.
class Plain {
 public:
  using json = nlohmann::json;
  Plain(std::string_view text, int max_depth)
      : p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth < 64 ? max_depth : 64) {}
  bool parse(json& root) {
    ws();
    if (!value(root, 0)) return false;
    ws();
    return p_ == end_;
  }

 private:
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  void ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool literal(const char* word, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }
  bool value(json& out, int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return object(out, depth);
      case '[': return array(out, depth);
      case '"': {
        std::string_view sv;
        if (!string(sv)) return false;
        out = json::string_t(sv);
        return true;
      }
      case 't': return literal("true", 4) && (out = true, true);
      case 'f': return literal("false", 5) && (out = false, true);
      case 'n': return literal("null", 4) && (out = nullptr, true);
      default: return number(out);
    }
  }
  bool object(json& out, int depth) {
    if (depth >= max_depth_) return false;
    ++p_;
    out = json::value_t::object;
    auto& obj = out.get_ref<json::object_t&>();
    ws();
    if (p_ != end_ && *p_ == '}') return ++p_, true;
    for (;;) {
      std::string_view key;
      if (p_ == end_ || *p_ != '"' || !string(key)) return false;
      auto [it, fresh] = obj.try_emplace(json::string_t(key));
      if (!fresh) return false;  // refused, with its path, by the parser with the checks
      ws();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      ws();
      if (!value(it->second, depth + 1)) return false;
      ws();
      if (p_ == end_) return false;
      if (*p_ == '}') return ++p_, true;
      if (*p_ != ',') return false;
      ++p_;
      ws();
    }
  }
  bool array(json& out, int depth) {
    if (depth >= max_depth_) return false;
    ++p_;
    out = json::value_t::array;
    auto& arr = out.get_ref<json::array_t&>();
    ws();
    if (p_ != end_ && *p_ == ']') return ++p_, true;
    for (;;) {
      if (!value(arr.emplace_back(), depth + 1)) return false;
      ws();
      if (p_ == end_) return false;
      if (*p_ == ']') return ++p_, true;
      if (*p_ != ',') return false;
      ++p_;
      ws();
    }
  }
  // At the opening quote; `sv` is the string's value, in the text or (escaped) in buf_.
  bool string(std::string_view& sv) {
    const char* start = ++p_;
    for (; p_ != end_; ++p_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        sv = std::string_view(start, static_cast<size_t>(p_++ - start));
        return true;
      }
      if (c == '\\') return escaped(start, sv);
      if (c < 0x20 || c >= 0x80) return false;
    }
    return false;
  }
  bool escaped(const char* start, std::string_view& sv) {
    buf_.assign(start, p_);
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_++);
      if (c == '"') {
        sv = buf_;
        return true;
      }
      if (c < 0x20 || c >= 0x80) return false;
      if (c != '\\') {
        buf_ += static_cast<char>(c);
        continue;
      }
      if (p_ == end_) return false;
      switch (*p_++) {
        case '"': buf_ += '"'; break;
        case '\\': buf_ += '\\'; break;
        case '/': buf_ += '/'; break;
        case 'b': buf_ += '\b'; break;
        case 'f': buf_ += '\f'; break;
        case 'n': buf_ += '\n'; break;
        case 'r': buf_ += '\r'; break;
        case 't': buf_ += '\t'; break;
        default: return false;  // \u (and surrogate pairs) are left to nlohmann
      }
    }
    return false;
  }
  // JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?. Integers are what nlohmann's
  // lexer makes of them (number_unsigned without a sign, number_integer with one); one that could
  // overflow, and a decimal that from_chars does not convert exactly and finitely, is left to it.
  bool number(json& out) {
    const char* start = p_;
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ != end_ && digit(*p_)) ++p_;
    } else {
      return false;
    }
    const char* int_end = p_;
    bool integer = true;
    if (p_ != end_ && *p_ == '.') {
      integer = false;
      if (++p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integer = false;
      if (++p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    if (integer) {
      const char* digits = start + (negative ? 1 : 0);
      if (int_end - digits > 18) return false;
      std::uint64_t v = 0;
      for (const char* d = digits; d != int_end; ++d) v = v * 10 + static_cast<std::uint64_t>(*d - '0');
      if (negative)
        out = -static_cast<json::number_integer_t>(v);
      else
        out = static_cast<json::number_unsigned_t>(v);
      return true;
    }
    double d = 0;
    auto [ptr, ec] = std::from_chars(start, p_, d);
    if (ec != std::errc() || ptr != p_ || !std::isfinite(d)) return false;
    out = d;
    return true;
  }

  const char* p_;
  const char* end_;
  const int max_depth_;
  std::string buf_;
};

// nlohmann's parser with the checks: the size is checked by the caller.
inline nlohmann::json parse_checked(std::string_view text, const JsonLimits& limits) {
  nlohmann::json root;
  Sax sax(root, limits);
  nlohmann::json::sax_parse(text.begin(), text.end(), &sax, nlohmann::json::input_format_t::json, /*strict=*/true);
  return root;
}

}  // namespace bounded_json_detail

// Parses one JSON document within `limits`; throws JsonInputError.
inline nlohmann::json parse_bounded_json(std::string_view text, const JsonLimits& limits = {}) {
  if (text.size() > limits.max_bytes)
    throw JsonInputError(JsonInputError::Kind::Limit, "",
                         "is larger than " + std::to_string(limits.max_bytes) + " bytes (the limit; got " +
                             std::to_string(text.size()) + ")");
  nlohmann::json root;
  if (bounded_json_detail::Plain(text, limits.max_depth).parse(root)) return root;
  return bounded_json_detail::parse_checked(text, limits);
}

}  // namespace lifehook
