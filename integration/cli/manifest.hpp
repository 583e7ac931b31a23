// Loading manifests: YAML or JSON, a file or `-` for stdin, several documents (`---`) and
// `kind: List`, each Pod turned into the Kubernetes Pod JSON that lifehook_pod_create takes.
// Every JSON path of the input remembers its YAML line so problems can point at it.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace lifehook_cli {

using json = nlohmann::json;

// JSON paths as the library writes them ("spec.containers[0].name") → 1-based line numbers.
class LineMap {
 public:
  void set(const std::string& path, int line) { lines_.emplace(path, line); }
  // Line of `path` or of its closest ancestor we know; 0 when none.
  int line_of(std::string_view path) const;

 private:
  std::map<std::string, int, std::less<>> lines_;
};

// One problem in a manifest: where (path, line) and why. Printed as
// "FILE:LINE: PATH: MESSAGE" — one line per problem.
struct Problem {
  std::string path;  // full JSON path from the document root ("items[1].spec.containers[0].name")
  int line = 0;      // 0: unknown
  std::string message;
};

// One Pod ready for the library, and where it came from.
struct PodManifest {
  json pod;               // the Pod object (kind: Pod)
  std::string root_path;  // "" for a top-level Pod, "items[2]" for an item of a List
  std::string name;       // metadata.name ("" when missing)
  int document = 0;       // 0-based index of the YAML document in the file
  const LineMap* lines = nullptr;
};

struct LoadedManifests {
  std::string source;  // file name as given ("-" shows as "<stdin>")
  std::vector<PodManifest> pods;
  std::vector<Problem> problems;                    // parse errors, wrong kinds, ...: the pods are unusable
  std::vector<std::unique_ptr<LineMap>> line_maps;  // one per document, owned here
};

// The documents of FILE ("-" = stdin) as JSON, each with its line map; empty documents skipped.
struct LoadedDocuments {
  std::string source;
  std::vector<nlohmann::json> documents;
  std::vector<std::unique_ptr<LineMap>> line_maps;  // parallel to documents
  std::vector<Problem> problems;                    // read or parse errors
};
LoadedDocuments load_documents(const std::string& file);
// The same for text already read (`source` names it in problems); the fuzz target's entry.
LoadedDocuments parse_documents(const std::string& text, const std::string& source);

// Reads FILE and picks out its Pods (kind Pod, or kind List of Pods). Never throws; problems are collected.
LoadedManifests load_manifests(const std::string& file);

// Short rendering of a value for messages: "nginx", 42, [...], {...}.
std::string value_text(const json& v);

// Joins a parent JSON path and a key: ("spec", "containers") → "spec.containers".
std::string join_path(const std::string& parent, std::string_view key);
std::string index_path(const std::string& parent, size_t index);

}  // namespace lifehook_cli
