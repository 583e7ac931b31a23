// The hook's contract with containers: the lifehook.io/* annotations. Values are JSON
// (Kubernetes handler objects, numbers of seconds); lifehook.io/log is a plain path. Everything
// the hook can check before running anything is checked here, so a bad annotation stops the
// container at createRuntime instead of surfacing later at poststart; the library validates the
// remaining handler fields when it runs them.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ocihook {

using json = nlohmann::json;

inline constexpr const char* kWaitFor = "lifehook.io/wait-for";
inline constexpr const char* kWaitForPeriod = "lifehook.io/wait-for-period";
inline constexpr const char* kWaitForTimeout = "lifehook.io/wait-for-timeout";
inline constexpr const char* kPostStart = "lifehook.io/post-start";
inline constexpr const char* kPostStop = "lifehook.io/post-stop";
inline constexpr const char* kLog = "lifehook.io/log";

// Host used by httpGet/tcpSocket/grpc handlers that name none. An OCI hook knows no pod IP; the
// runtime namespace's loopback is the one address that always means "this node".
inline constexpr const char* kDefaultHost = "127.0.0.1";

struct HandlerEntry {
  std::string where;                // "lifehook.io/wait-for[1]", used in messages
  json handler;                     // the Kubernetes handler object, without our extension keys
  std::string kind;                 // exec | httpGet | tcpSocket | sleep | grpc (wait-for only)
  std::string label;                // "tcp 127.0.0.1:13306 (mysql)"
  std::optional<double> timeout_s;  // extension key "timeoutSeconds"
};

struct Annotations {
  bool any = false;  // at least one lifehook.io/ annotation is present
  std::vector<HandlerEntry> wait_for;
  double wait_for_period_s = 1.0;
  double wait_for_timeout_s = 120.0;
  std::optional<HandlerEntry> post_start;
  std::optional<HandlerEntry> post_stop;
  std::string log_path;  // empty: syslog
  // Annotation name -> "<name>: <why>"; the stage decides which of them are fatal.
  std::map<std::string, std::string> errors;
};

// `annotations` is the merged annotation map (config.json overlaid with the state's).
Annotations parse_annotations(const json& annotations);

}  // namespace ocihook
