#include "manifest.hpp"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

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

std::string index_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string value_text(const json& v) {
  if (v.is_string()) return json(v.get<std::string>()).dump();
  if (v.is_array()) return v.empty() ? "[]" : "[...]";
  if (v.is_object()) return v.empty() ? "{}" : "{...}";
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

namespace {

constexpr int kMaxDepth = 64;  // manifests are shallow; deeper input is hostile or broken

// Thrown while converting a document; becomes one Problem.
struct ConvertError {
  std::string path;
  int line;
  std::string message;
};

// A plain (unquoted) YAML scalar typed the way Kubernetes' YAML loader would type it.
json plain_scalar(const std::string& s) {
  static const std::regex int_re(R"([-+]?[0-9]+)");
  static const std::regex float_re(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (std::regex_match(s, int_re)) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && end && *end == '\0') return v;
  }
  if (std::regex_match(s, float_re)) return std::strtod(s.c_str(), nullptr);
  return s;
}

json to_json(const YAML::Node& n, const std::string& path, LineMap& lines, int depth) {
  int line = n.Mark().line + 1;
  if (!n.Mark().is_null()) lines.set(path, line);
  if (depth > kMaxDepth) throw ConvertError{path, line, "is nested too deeply"};
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      const std::string& tag = n.Tag();
      // "!" = quoted scalar; explicit !!str: always a string.
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return n.Scalar();
      return plain_scalar(n.Scalar());
    }
    case YAML::NodeType::Sequence: {
      json arr = json::array();
      size_t i = 0;
      for (const auto& item : n) {
        arr.push_back(to_json(item, index_path(path, i), lines, depth + 1));
        ++i;
      }
      return arr;
    }
    case YAML::NodeType::Map: {
      json obj = json::object();
      for (auto it = n.begin(); it != n.end(); ++it) {
        int key_line = it->first.Mark().line + 1;
        if (!it->first.IsScalar()) throw ConvertError{path, key_line, "has a key that is not a plain string"};
        const std::string key = it->first.Scalar();
        const std::string child = join_path(path, key);
        if (obj.contains(key)) throw ConvertError{child, key_line, "is given twice (duplicate key)"};
        lines.set(child, key_line);
        obj[key] = to_json(it->second, child, lines, depth + 1);
      }
      return obj;
    }
  }
  return nullptr;
}

std::string read_input(const std::string& file, std::string& error) {
  std::ostringstream buf;
  if (file == "-") {
    buf << std::cin.rdbuf();
    return buf.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return {};
  }
  buf << in.rdbuf();
  if (in.bad()) error = "read error";
  return buf.str();
}

std::string kind_hint(const std::string& kind) {
  static const std::set<std::string> workloads = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet",
                                                  "Job", "ReplicationController"};
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
  LoadedDocuments out;
  out.source = file == "-" ? "<stdin>" : file;
  std::string error;
  std::string text = read_input(file, error);
  if (!error.empty()) {
    out.problems.push_back({"", 0, "cannot read: " + error});
    return out;
  }

  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    // JSON that YAML rejects (tabs for indentation, ...) is still JSON.
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && (text[first] == '{' || text[first] == '[')) {
      json j = json::parse(text, nullptr, false);
      if (!j.is_discarded()) {
        out.documents.push_back(std::move(j));
        out.line_maps.push_back(std::make_unique<LineMap>());
        return out;
      }
    }
    out.problems.push_back({"", e.mark.is_null() ? 0 : e.mark.line + 1,
                            "not valid YAML or JSON: " + e.msg +
                                (e.mark.is_null() ? "" : " (column " + std::to_string(e.mark.column + 1) + ")")});
    return out;
  } catch (const std::exception& e) {
    out.problems.push_back({"", 0, std::string("not valid YAML or JSON: ") + e.what()});
    return out;
  }

  for (const auto& node : docs) {
    if (node.IsNull()) continue;  // empty documents ("---" at the end) are allowed, as kubectl does
    auto lines = std::make_unique<LineMap>();
    try {
      json j = to_json(node, "", *lines, 0);
      out.documents.push_back(std::move(j));
      out.line_maps.push_back(std::move(lines));
    } catch (const ConvertError& e) {
      out.problems.push_back({e.path, e.line, e.message});
    } catch (const YAML::Exception& e) {
      out.problems.push_back({"", e.mark.is_null() ? 0 : e.mark.line + 1, "not valid YAML: " + e.msg});
    }
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
