#include "manifest.hpp"

#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>
#include <sstream>

#include "../../plugin/common/bounded_json.hpp"
#include "../../plugin/common/regular_file.hpp"

namespace lifehook_cli {

int LineMap::line_of(std::string_view path) const {
  std::string p(path);
  for (;;) {
    auto it = lines_.find(p);
    if (it != lines_.end()) return it->second;
    if (p.empty()) return 0;
    // Step to the parent: drop the last ".key" or "[i]".
    size_t cut = p.find_last_of(".[");
    p = cut == std::string::npos ? std::string() : p.substr(0, cut);
  }
}

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, size_t index) { return parent + "[" + std::to_string(index) + "]"; }

std::string value_text(const json& v) {
  if (v.is_string()) return json(v.get<std::string>()).dump();
  if (v.is_array()) return v.empty() ? "[]" : "[...]";
  if (v.is_object()) return v.empty() ? "{}" : "{...}";
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

namespace {

constexpr int kMaxDepth = lifehook::kMaxJsonDepth;  // manifests are shallow; deeper input is hostile or broken
// A manifest file (or stdin) larger than this is refused before parsing; kubectl's own limit
// for one object is smaller (etcd's 1.5 MiB request limit).
constexpr size_t kMaxManifestBytes = lifehook::kMaxJsonBytes;
// YAML aliases share nodes, so a small file can expand into a huge document ("billion
// laughs"); the conversion stops after this many nodes.
constexpr size_t kMaxNodes = 1000000;

// Thrown while converting a document; becomes one Problem.
struct ConvertError {
  std::string path;
  int line;
  std::string message;
};

// [-+]?[0-9]+ : the length of the digits at `i`, scanned by hand (std::regex recursed once per
// character: a plain scalar of 60 000 digits overflowed the stack).
size_t digits_at(const std::string& s, size_t i) {
  size_t n = 0;
  while (i + n < s.size() && s[i + n] >= '0' && s[i + n] <= '9') ++n;
  return n;
}

bool is_integer_text(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  size_t n = digits_at(s, i);
  return n > 0 && i + n == s.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool is_float_text(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  size_t whole = digits_at(s, i);
  i += whole;
  if (i < s.size() && s[i] == '.') {
    size_t frac = digits_at(s, i + 1);
    if (whole == 0 && frac == 0) return false;
    i += 1 + frac;
  } else if (whole == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
    size_t exp = digits_at(s, j);
    if (exp == 0) return false;
    i = j + exp;
  }
  return i == s.size();
}

// A plain (unquoted) YAML scalar typed the way Kubernetes' YAML loader would type it. A number
// no int64 or double holds stays a string, as go-yaml leaves it (its ParseInt and ParseFloat
// both fail with ErrRange).
json plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (is_integer_text(s)) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && end && *end == '\0') return v;
  }
  if (is_float_text(s)) {
    double d = std::strtod(s.c_str(), nullptr);
    if (std::isfinite(d)) return d;
  }
  return s;
}

// Every string of the Pod JSON must be UTF-8 (JSON's own encoding); the byte offset of the first
// invalid sequence in `s`, or npos.
size_t invalid_utf8_at(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return i;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 either.
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return i;
    i += len;
  }
  return std::string::npos;
}

void require_utf8(const std::string& s, const std::string& path, int line, const char* what) {
  size_t at = invalid_utf8_at(s);
  if (at != std::string::npos)
    throw ConvertError{
        path, line,
        std::string(what) + " is not valid UTF-8 (byte " + std::to_string(at + 1) + "); manifests must be UTF-8 text"};
}

// Builds the JSON of one YAML document from the parser's events (not from YAML::Node: yaml-cpp
// 0.7's LoadAll loops forever, growing, on a stray '}' or ']' after a document — it hands out
// the same empty document again and again —, which only an event loop that sees the position
// can stop). Checks as it goes: nesting, the node budget (aliases are expanded), duplicate and
// non-string keys, UTF-8; each error names the path and the line.
class DocumentBuilder : public YAML::EventHandler {
 public:
  explicit DocumentBuilder(LineMap& lines) : lines_(lines) {}
  bool has_root() const { return has_root_; }
  json take_root() { return std::move(root_); }

  YAML::Mark start;  // where the document began
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (key_expected()) fail_key(mark);
    add(nullptr, mark, anchor, 1);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw ConvertError{next_path(), mark.line + 1, "refers to an unknown anchor"};
    if (key_expected()) fail_key(mark);
    add(it->second.value, mark, YAML::NullAnchor, it->second.nodes);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    int line = mark.line + 1;
    if (key_expected()) {
      Frame& f = stack_.back();
      require_utf8(value, f.path, line, "a key");
      std::string child = join_path(f.path, value);
      if (f.value.contains(value)) throw ConvertError{child, line, "is given twice (duplicate key)"};
      lines_.set(child, line);
      f.key = value;
      f.have_key = true;
      return;
    }
    require_utf8(value, next_path(), line, "the value");
    // "!" = quoted scalar; explicit !!str: always a string.
    json v = (tag == "!" || tag == "tag:yaml.org,2002:str") ? json(value) : plain_scalar(value);
    add(std::move(v), mark, anchor, 1);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(json::array(), mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(json::object(), mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    json value;
    std::string path;
    YAML::anchor_t anchor = YAML::NullAnchor;
    size_t nodes_before = 0;  // the budget used when it opened
    bool have_key = false;    // maps: the key of the next value has been read
    std::string key;
  };
  struct Anchored {
    json value;
    size_t nodes;
  };

  bool key_expected() const { return !stack_.empty() && stack_.back().value.is_object() && !stack_.back().have_key; }
  [[noreturn]] void fail_key(const YAML::Mark& mark) {
    throw ConvertError{stack_.back().path, mark.line + 1, "has a key that is not a plain string"};
  }
  std::string next_path() const {
    if (stack_.empty()) return "";
    const Frame& f = stack_.back();
    return f.value.is_array() ? index_path(f.path, f.value.size()) : join_path(f.path, f.key);
  }
  void count(size_t n, const std::string& path, int line) {
    nodes_ += n;
    if (nodes_ > kMaxNodes)
      throw ConvertError{path, line,
                         "the document expands to more than " + std::to_string(kMaxNodes) +
                             " values (the limit; YAML aliases are expanded)"};
  }
  void open(json empty, const YAML::Mark& mark, YAML::anchor_t anchor) {
    std::string path = next_path();
    int line = mark.line + 1;
    if (key_expected()) fail_key(mark);
    lines_.set(path, line);
    if (static_cast<int>(stack_.size()) >= kMaxDepth)
      throw ConvertError{path, line, "is nested deeper than " + std::to_string(kMaxDepth) + " levels (the limit)"};
    count(1, path, line);
    Frame f;
    f.value = std::move(empty);
    f.path = std::move(path);
    f.anchor = anchor;
    f.nodes_before = nodes_ - 1;
    stack_.push_back(std::move(f));
  }
  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.anchor != YAML::NullAnchor) anchors_[f.anchor] = {f.value, nodes_ - f.nodes_before};
    place(std::move(f.value));
  }
  void add(json v, const YAML::Mark& mark, YAML::anchor_t anchor, size_t nodes) {
    std::string path = next_path();
    lines_.set(path, mark.line + 1);
    count(nodes, path, mark.line + 1);
    if (anchor != YAML::NullAnchor) anchors_[anchor] = {v, nodes};
    place(std::move(v));
  }
  void place(json v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      has_root_ = true;
      return;
    }
    Frame& f = stack_.back();
    if (f.value.is_array()) {
      f.value.push_back(std::move(v));
    } else {
      f.value[f.key] = std::move(v);
      f.have_key = false;
    }
  }

  LineMap& lines_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, Anchored> anchors_;
  size_t nodes_ = 0;
  json root_;
  bool has_root_ = false;
};

// A file must be a regular file (a FIFO without a writer would block, /dev/zero never end); stdin
// may be a pipe. Both are bounded in size.
std::string read_input(const std::string& file, std::string& error) {
  try {
    if (file == "-") return lifehook::read_bounded(STDIN_FILENO, "<stdin>", kMaxManifestBytes);
    return lifehook::read_regular_file(file, kMaxManifestBytes);
  } catch (const lifehook::FileReadError& e) {
    // "cannot read: No such file or directory", "is a FIFO, not a regular file", "is larger than ..."
    const std::string& why = e.why();
    error = why.rfind("cannot open: ", 0) == 0 ? "cannot read: " + why.substr(13) : why;
    return {};
  }
}

std::string kind_hint(const std::string& kind) {
  static const std::set<std::string> workloads = {"Deployment", "ReplicaSet", "StatefulSet",
                                                  "DaemonSet",  "Job",        "ReplicationController"};
  if (workloads.count(kind)) return "; a " + kind + " wraps its Pod in spec.template";
  if (kind == "CronJob") return "; a CronJob wraps its Pod in spec.jobTemplate.spec.template";
  return "";
}

// Adds the Pods of one document (a Pod or a List of Pods) to `out`.
void collect_pods(const json& doc, int document, const LineMap& lines, LoadedManifests& out) {
  auto problem = [&](const std::string& path, const std::string& msg) {
    out.problems.push_back({path, lines.line_of(path), msg});
  };
  auto add_pod = [&](const json& obj, const std::string& root) {
    const std::string kind_path = join_path(root, "kind");
    if (!obj.is_object()) {
      problem(root, std::string(root.empty() ? "the document" : "the item") +
                        " is not a mapping: expected a Pod manifest (kind: Pod), got " + value_text(obj));
      return false;
    }
    auto kind = obj.find("kind");
    if (kind == obj.end() || kind->is_null()) {
      problem(kind_path, "is required: lifehook runs Pods (kind: Pod)");
      return false;
    }
    if (!kind->is_string() || (kind->get<std::string>() != "Pod" && kind->get<std::string>() != "List")) {
      std::string k = kind->is_string() ? kind->get<std::string>() : "";
      problem(kind_path, "must be Pod (or List): lifehook runs Pods, not " + value_text(*kind) + kind_hint(k));
      return false;
    }
    return true;
  };

  if (!add_pod(doc, "")) return;
  if (doc["kind"] == "Pod") {
    std::string name = doc.contains("metadata") && doc["metadata"].is_object() && doc["metadata"].contains("name") &&
                               doc["metadata"]["name"].is_string()
                           ? doc["metadata"]["name"].get<std::string>()
                           : "";
    out.pods.push_back({doc, "", name, document, &lines});
    return;
  }
  // kind: List
  auto items = doc.find("items");
  if (items == doc.end() || !items->is_array()) {
    problem("items", items == doc.end() ? "is required: a List holds its Pods in items"
                                        : "must be a list of Pods (got " + value_text(*items) + ")");
    return;
  }
  for (size_t i = 0; i < items->size(); ++i) {
    const json& item = (*items)[i];
    std::string root = index_path("items", i);
    if (!add_pod(item, root)) continue;
    if (item["kind"] != "Pod") {
      problem(join_path(root, "kind"), "must be Pod: a List item cannot be another List");
      continue;
    }
    std::string name;
    if (item.contains("metadata") && item["metadata"].is_object() && item["metadata"].contains("name") &&
        item["metadata"]["name"].is_string())
      name = item["metadata"]["name"].get<std::string>();
    out.pods.push_back({item, root, name, document, &lines});
  }
}

}  // namespace

LoadedDocuments load_documents(const std::string& file) {
  std::string source = file == "-" ? "<stdin>" : file;
  std::string error;
  std::string text = read_input(file, error);
  if (!error.empty()) {
    LoadedDocuments out;
    out.source = source;
    out.problems.push_back({"", 0, error});
    return out;
  }
  return parse_documents(text, source);
}

LoadedDocuments parse_documents(const std::string& text, const std::string& source) {
  LoadedDocuments out;
  out.source = source;

  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    for (size_t last_start = std::string::npos;;) {
      auto lines = std::make_unique<LineMap>();
      DocumentBuilder builder(*lines);
      if (!parser.HandleNextDocument(builder)) break;
      // The same start again: the parser is stuck on something it cannot read (see DocumentBuilder).
      if (builder.start.pos == static_cast<int>(last_start))
        throw YAML::ParserException(builder.start, "unexpected characters after the document");
      last_start = static_cast<size_t>(builder.start.pos);
      json j = builder.take_root();
      if (!builder.has_root() || j.is_null())
        continue;  // empty documents ("---" at the end) are allowed, as kubectl does
      out.documents.push_back(std::move(j));
      out.line_maps.push_back(std::move(lines));
    }
  } catch (const ConvertError& e) {
    out.documents.clear();
    out.line_maps.clear();
    out.problems.push_back({e.path, e.line, e.message});
  } catch (const YAML::Exception& e) {
    out.documents.clear();
    out.line_maps.clear();
    // JSON that YAML rejects (tabs for indentation, ...) is still JSON.
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && (text[first] == '{' || text[first] == '[')) {
      try {
        json j = lifehook::parse_bounded_json(text);
        out.documents.push_back(std::move(j));
        out.line_maps.push_back(std::make_unique<LineMap>());
        return out;
      } catch (const lifehook::JsonInputError& je) {
        // Valid JSON but beyond a bound (nesting, a duplicate key): that is the problem to report.
        if (je.kind() != lifehook::JsonInputError::Kind::Syntax) {
          out.problems.push_back({je.path(), 0, je.why()});
          return out;
        }
      }
    }
    out.problems.push_back({"", e.mark.is_null() ? 0 : e.mark.line + 1,
                            "not valid YAML or JSON: " + e.msg +
                                (e.mark.is_null() ? "" : " (column " + std::to_string(e.mark.column + 1) + ")")});
  } catch (const std::exception& e) {
    out.documents.clear();
    out.line_maps.clear();
    out.problems.push_back({"", 0, std::string("not valid YAML or JSON: ") + e.what()});
  }
  return out;
}

LoadedManifests load_manifests(const std::string& file) {
  LoadedDocuments docs = load_documents(file);
  LoadedManifests out;
  out.source = docs.source;
  out.problems = std::move(docs.problems);
  out.line_maps = std::move(docs.line_maps);
  for (size_t i = 0; i < docs.documents.size(); ++i)
    collect_pods(docs.documents[i], static_cast<int>(i), *out.line_maps[i], out);
  if (out.pods.empty() && out.problems.empty()) out.problems.push_back({"", 0, "no Pod found: the input is empty"});
  return out;
}

}  // namespace lifehook_cli
