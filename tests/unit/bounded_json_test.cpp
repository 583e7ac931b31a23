// parse_bounded_json's plain parser (bounded_json_detail::Plain) against nlohmann's parser with
// the checks (parse_checked): whatever the plain parser takes, the checking parser takes too and
// builds the same document, number types included; everything else is left to the checking parser,
// so every refusal stays its.
#include "plugin/common/bounded_json.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <random>
#include <string>

using lifehook::JsonLimits;
using lifehook::bounded_json_detail::parse_checked;
using lifehook::bounded_json_detail::Plain;
using json = nlohmann::json;

namespace {

bool plain(const std::string& text, json& out, int depth = 64) { return Plain(text, depth).parse(out); }

// Equal as documents and in the type of every value (1, 1u and 1.0 compare equal as json).
bool same(const json& a, const json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
      if (ia.key() != ib.key() || !same(*ia, *ib)) return false;
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  }
  if (a.is_number_float()) return std::memcmp(&a.get_ref<const double&>(), &b.get_ref<const double&>(), 8) == 0;
  return a == b;
}

struct Gen {
  std::mt19937_64 rng{20261202};
  size_t pick(size_t n) { return static_cast<size_t>(rng() % n); }
  std::string ws() {
    static const char* w[] = {"", "", "", " ", "\n", "\t", "\r\n  "};
    return w[pick(7)];
  }
  std::string number() {
    std::string s = pick(3) == 0 ? "-" : "";
    size_t kind = pick(6);
    if (kind == 0) {
      s += '0';
    } else {
      s += static_cast<char>('1' + pick(9));
      for (size_t i = pick(kind == 5 ? 22 : 8); i > 0; --i) s += static_cast<char>('0' + pick(10));
    }
    if (pick(3) == 0) {
      s += '.';
      for (size_t i = 1 + pick(18); i > 0; --i) s += static_cast<char>('0' + pick(10));
    }
    if (pick(4) == 0)
      s += std::string("eE").substr(pick(2), 1) + std::string("\0+-", 3).substr(pick(3), 1) +
           std::to_string(pick(pick(5) == 0 ? 400 : 30));
    s.erase(std::remove(s.begin(), s.end(), '\0'), s.end());
    return s;
  }
  std::string string() {
    static const char* parts[] = {"a",   "Z",   " ",       "\\\"",           "\\\\",     "\\/",  "\\b", "\\f", "\\n",
                                  "\\r", "\\t", "\\u0041", "\\ud83d\\ude00", "\xc3\xa9", "\x7f", "~",   "k"};
    std::string s = "\"";
    for (size_t i = pick(5); i > 0; --i) s += parts[pick(std::size(parts))];
    return s + "\"";
  }
  std::string value(int depth) {
    switch (pick(depth > 6 ? 4 : 7)) {
      case 0: return number();
      case 1: return string();
      case 2: return pick(2) ? "true" : "null";
      case 3: return "false";
      case 4:
      case 5: {
        std::string s = "{" + ws();
        for (size_t i = 0, n = pick(5); i < n; ++i) {
          if (i) s += "," + ws();
          s += (pick(4) ? "\"k" + std::to_string(pick(6)) + "\"" : string()) + ws() + ":" + ws() + value(depth + 1) +
               ws();
        }
        return s + "}";
      }
      default: {
        std::string s = "[" + ws();
        for (size_t i = 0, n = pick(5); i < n; ++i) s += (i ? "," + ws() : "") + value(depth + 1) + ws();
        return s + "]";
      }
    }
  }
  void mutate(std::string& s) {
    static const std::string alphabet = "{}[]\":,0123456789.eE+-ntrufals \\u\x7f\x01\xc3\xa9\xff";
    size_t pos = pick(s.size() + 1);
    switch (pick(3)) {
      case 0: s.insert(pos, 1, alphabet[pick(alphabet.size())]); break;
      case 1:
        if (pos < s.size()) s.erase(pos, 1 + pick(3));
        break;
      default:
        if (pos < s.size()) s[pos] = alphabet[pick(alphabet.size())];
    }
  }
};

}  // namespace

TEST(BoundedJson, PlainParserTakesTheUsualDocumentsAndLeavesTheRest) {
  json j;
  for (
      const char* text : {
          R"({"handler":{"tcpSocket":{"host":"127.0.0.1","port":8080}},"timeoutMs":5000})",
          R"({"handler":{"exec":{"command":["sh","-c","echo \"a\"\n\tb\\c"]}},"target":{"env":[{"name":"A","value":"x"}]}})",
          R"( {"handler": {"sleep": {"seconds": 0.25}}, "purpose": "preStop", "x": [true, false, null, -0, 1e3]} )",
      })
    EXPECT_TRUE(plain(text, j)) << text;
  for (const char* text : {
           R"({"a":"\u0041"})",
           "{\"a\":\"\xc3\xa9\"}",
           R"({"a":1,"a":2})",
           R"({"a":1234567890123456789})",
           R"([1e999])",
           R"([1e-400])",
           R"([01])",
           R"([1,])",
           R"({"a":1,})",
           "\xef\xbb\xbf{}",
           "",
           " ",
           R"([1] x)",
           "[\"\x01\"]",
           R"([.5])",
           R"([1.])",
           R"([-])",
           R"(["\x"])",
           R"([tru])",
       })
    EXPECT_FALSE(plain(text, j)) << text;
  EXPECT_TRUE(plain("[[[]]]", j, 3));
  EXPECT_FALSE(plain("[[[[]]]]", j, 3));
  EXPECT_FALSE(plain(std::string(65, '[') + std::string(65, ']'), j, 1000));  // deeper than 64: nlohmann's
}

TEST(BoundedJson, PlainParserBuildsWhatTheCheckingParserBuilds) {
  Gen g;
  int taken = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = g.ws() + g.value(0) + g.ws();
    if (i % 2) g.mutate(text);
    json a;
    if (!plain(text, a, 8)) continue;
    ++taken;
    json b;
    JsonLimits limits;
    limits.max_depth = 8;
    ASSERT_NO_THROW(b = parse_checked(text, limits)) << text;
    ASSERT_TRUE(same(a, b)) << text << "\n" << a.dump() << "\n" << b.dump();
  }
  EXPECT_GT(taken, 5000);
}
