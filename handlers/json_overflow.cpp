#include "json_overflow.hpp"

#include <nlohmann/json.hpp>
#include <vector>

namespace lifehook {

namespace {

// A SAX walk that keeps the path of the value being read; only the path matters, no DOM is built.
class PathTracker : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override {
    stack_.push_back({false, 0, {}, false});
    return true;
  }
  bool key(string_t& k) override {
    stack_.back().key = k;
    stack_.back().has_key = true;
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override {
    stack_.push_back({true, 0, {}, false});
    return true;
  }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string& last_token, const nlohmann::detail::exception& ex) override {
    overflow = ex.id == 406;
    token = last_token;
    return false;
  }

  std::string path() const {
    std::string p;
    for (const auto& f : stack_) {
      if (f.array)
        p += "[" + std::to_string(f.index) + "]";
      else if (f.has_key)
        p += (p.empty() ? "" : ".") + f.key;
    }
    return p;
  }

  bool overflow = false;
  std::string token;

 private:
  struct Frame {
    bool array;
    size_t index;  // arrays: the element being read
    std::string key;
    bool has_key;
  };
  bool value() {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
    return true;
  }
  bool close() {
    stack_.pop_back();
    return value();
  }
  std::vector<Frame> stack_;
};

}  // namespace

bool locate_number_overflow(std::string_view text, std::string& path, std::string& token) {
  // The tracker's path is taken at the error, before the failed value counts as read.
  struct Capture : PathTracker {
    std::string at;
    bool parse_error(std::size_t pos, const std::string& t, const nlohmann::detail::exception& ex) override {
      at = path();
      return PathTracker::parse_error(pos, t, ex);
    }
  } capture;
  nlohmann::json::sax_parse(text, &capture);
  if (!capture.overflow) return false;
  path = capture.at;
  token = capture.token;
  return true;
}

}  // namespace lifehook
