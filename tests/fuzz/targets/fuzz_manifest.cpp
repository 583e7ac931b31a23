// libFuzzer target: a YAML (or JSON) manifest as `lifehook validate/run` reads it
// (integration/cli/manifest.cpp), then its Pods as the JSON the CLI hands to the library.
// Problems are collected, never thrown: any exception, sanitizer report or stack overflow is a
// finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "integration/cli/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  lifehook_cli::LoadedDocuments docs = lifehook_cli::parse_documents(text, "fuzz.yaml");
  for (size_t i = 0; i < docs.documents.size(); ++i) {
    (void)docs.documents[i].dump();  // what the CLI sends: must be valid UTF-8 JSON
    (void)docs.line_maps[i]->line_of("spec.containers[0].name");
  }
  return 0;
}
