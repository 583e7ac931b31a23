// `lifehook handler`: runs one handler (from a file or --exec/--http/--tcp/--grpc/--sleep) against
// 127.0.0.1 and prints its outcome; Ctrl-C cancels it (the library kills and reaps its processes).
#include <poll.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <regex>

#include "commands.hpp"
#include "duration.hpp"
#include "library.hpp"
#include "signals.hpp"

namespace lifehook_cli {
namespace {

// Splits a command line the way a POSIX shell splits words: 'single', "double" (with \ escapes
// for " \ $ `), and backslash outside quotes. No expansion of any kind.
std::optional<std::vector<std::string>> split_words(const std::string& s, std::string& error) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\'') {
      size_t end = s.find('\'', i + 1);
      if (end == std::string::npos) return error = "unterminated ' quote", std::nullopt;
      cur += s.substr(i + 1, end - i - 1);
      i = end;
      in_word = true;
    } else if (c == '"') {
      in_word = true;
      for (++i;; ++i) {
        if (i >= s.size()) return error = "unterminated \" quote", std::nullopt;
        if (s[i] == '"') break;
        if (s[i] == '\\' && i + 1 < s.size() && std::string("\"\\$`").find(s[i + 1]) != std::string::npos) ++i;
        cur += s[i];
      }
    } else if (c == '\\') {
      if (i + 1 >= s.size()) return error = "trailing backslash", std::nullopt;
      cur += s[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::exchange(cur, {}));
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(cur);
  if (words.empty()) return error = "is empty", std::nullopt;
  return words;
}

// http[s]://host[:port][/path] → a Kubernetes httpGet.
std::optional<json> http_get_from_url(const std::string& url, std::string& error) {
  static const std::regex re(R"(^(https?)://(\[[0-9A-Fa-f:.]+\]|[^/:?#\[\]@]+)(:([0-9]{1,5}))?([/?][^#]*)?$)",
                             std::regex::icase);
  std::smatch m;
  if (!std::regex_match(url, m, re)) return error = "must look like http://127.0.0.1:8080/path", std::nullopt;
  std::string scheme = m[1];
  for (auto& ch : scheme) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string host = m[2];
  if (host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = m[4].matched ? std::stoi(m[4]) : (scheme == "HTTPS" ? 443 : 80);
  if (port < 1 || port > 65535) return error = "port must be between 1 and 65535", std::nullopt;
  std::string path = m[5].matched ? m[5].str() : "/";
  if (path.front() == '?') path = "/" + path;
  return json{{"scheme", scheme}, {"host", host}, {"port", port}, {"path", path}};
}

std::optional<json> tcp_from_address(const std::string& addr, std::string& error) {
  static const std::regex re(R"(^(\[[0-9A-Fa-f:.]+\]|[^:\[\]]+):([0-9]{1,5})$)");
  std::smatch m;
  if (!std::regex_match(addr, m, re)) return error = "must be HOST:PORT, e.g. 127.0.0.1:6379", std::nullopt;
  std::string host = m[1];
  if (host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = std::stoi(m[2]);
  if (port < 1 || port > 65535) return error = "port must be between 1 and 65535", std::nullopt;
  return json{{"host", host}, {"port", port}};
}

// --grpc PORT (on 127.0.0.1, the CLI's pod IP) or HOST:PORT → a Kubernetes grpc action.
std::optional<json> grpc_from_address(const std::string& addr, std::string& error) {
  static const std::regex port_only(R"(^[0-9]{1,5}$)");
  if (std::regex_match(addr, port_only)) {
    int port = std::stoi(addr);
    if (port < 1 || port > 65535) return error = "port must be between 1 and 65535", std::nullopt;
    return json{{"port", port}};
  }
  auto t = tcp_from_address(addr, error);
  if (!t) error = "must be PORT or HOST:PORT, e.g. 50051 or 127.0.0.1:50051";
  return t;
}

bool is_handler(const json& j) {
  for (const char* k : {"exec", "httpGet", "tcpSocket", "sleep", "grpc"})
    if (j.contains(k)) return true;
  return false;
}

// Bad input goes to stderr and, with -o json, also to stdout as {"status": "LIFEHOOK_E_INVALID", "error":
// "..."} (print_input_error), so that a host driving `lifehook handler - -o json` reads every answer there.
std::string g_input_error;
void input_error(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  if (g_input_error.empty()) g_input_error = message;
}
void print_input_error(const HandlerOptions& o) {
  if (o.output == "json")
    std::printf("%s\n", json{{"status", "LIFEHOOK_E_INVALID"}, {"error", g_input_error}}.dump().c_str());
}

// The request JSON from the options; prints the problem and returns nullopt on bad input.
std::optional<json> build_request(const HandlerOptions& o) {
  int given = !o.file.empty() + !o.exec.empty() + !o.http.empty() + !o.tcp.empty() + !o.grpc.empty() +
              o.sleep_seconds.has_value();
  if (given != 1) {
    input_error("lifehook handler: give exactly one of FILE, --exec, --http, --tcp, --grpc, --sleep (see --help)");
    return std::nullopt;
  }
  if (o.service && o.grpc.empty()) {
    input_error("lifehook handler: --service goes with --grpc");
    return std::nullopt;
  }
  json request;
  std::string error;
  if (!o.file.empty()) {
    LoadedDocuments docs = load_documents(o.file);
    for (const auto& p : docs.problems)
      input_error(docs.source + (p.line ? ":" + std::to_string(p.line) : "") + ": " + p.message);
    if (!docs.problems.empty()) return std::nullopt;
    if (docs.documents.size() != 1 || !docs.documents[0].is_object()) {
      input_error(docs.source +
                  ": must hold one handler (exec, httpGet, tcpSocket, sleep or grpc) or one request {handler: ...}");
      return std::nullopt;
    }
    const json& doc = docs.documents[0];
    if (doc.contains("handler"))
      request = doc;
    else if (is_handler(doc))
      request = json{{"handler", doc}};
    else {
      input_error(docs.source +
                  ": must hold one handler (exec, httpGet, tcpSocket, sleep or grpc) or one request {handler: ...}");
      return std::nullopt;
    }
  } else if (!o.exec.empty()) {
    auto words = split_words(o.exec, error);
    if (!words) {
      input_error("lifehook handler: --exec " + error);
      return std::nullopt;
    }
    request = json{{"handler", {{"exec", {{"command", *words}}}}}};
  } else if (!o.http.empty()) {
    auto h = http_get_from_url(o.http, error);
    if (!h) {
      input_error("lifehook handler: --http " + error + " (got \"" + o.http + "\")");
      return std::nullopt;
    }
    request = json{{"handler", {{"httpGet", *h}}}};
  } else if (!o.tcp.empty()) {
    auto t = tcp_from_address(o.tcp, error);
    if (!t) {
      input_error("lifehook handler: --tcp " + error + " (got \"" + o.tcp + "\")");
      return std::nullopt;
    }
    request = json{{"handler", {{"tcpSocket", *t}}}};
  } else if (!o.grpc.empty()) {
    auto g = grpc_from_address(o.grpc, error);
    if (!g) {
      input_error("lifehook handler: --grpc " + error + " (got \"" + o.grpc + "\")");
      return std::nullopt;
    }
    if (o.service) (*g)["service"] = *o.service;
    request = json{{"handler", {{"grpc", *g}}}};
  } else {
    request = json{{"handler", {{"sleep", {{"seconds", *o.sleep_seconds}}}}}};
  }
  if (!request.contains("target")) request["target"] = json{{"podIP", "127.0.0.1"}};
  // The library validates the path (errors name target.netns); a FILE's non-object target stays as
  // written so that its own error is reported.
  if (!o.netns.empty() && (request["target"].is_object() || request["target"].is_null()))
    request["target"]["netns"] = o.netns;
  if (request["target"].is_object()) {
    json& target = request["target"];
    if (o.pid) target["pid"] = *o.pid;
    if (!o.bundle.empty()) target["bundle"] = o.bundle;
    if (!o.exec_mode.empty()) target["execMode"] = o.exec_mode;
    if (!o.runtime_root.empty()) target["runtimeRoot"] = o.runtime_root;
  }
  if (o.timeout) request["timeoutMs"] = o.timeout->count();
  return request;
}

// Completion of the submitted operation, handed from a library thread to the main thread.
struct Completion {
  std::mutex mu;
  bool done = false;
  std::string result;
  Wakeup wake;
};

void on_done(void* user, uint64_t, const char* result_json) {
  auto* c = static_cast<Completion*>(user);
  {
    std::lock_guard lock(c->mu);
    c->result = result_json ? result_json : "";
    c->done = true;
  }
  c->wake.notify();
}

void print_text(const json& r) {
  auto line = [](const char* key, const std::string& value) { std::printf("%-13s%s\n", key, value.c_str()); };
  line("Outcome:", r.value("outcome", "?"));
  if (r.contains("durationMs") && r["durationMs"].is_number())
    line("Duration:", short_duration_ms(r["durationMs"].get<double>()));
  if (r.contains("exitCode")) line("Exit code:", r["exitCode"].dump());
  if (r.contains("signal") && r["signal"] != 0) line("Signal:", r["signal"].dump());
  if (r.contains("httpStatus")) line("HTTP status:", r["httpStatus"].dump());
  if (r.contains("message") && r["message"].is_string() && !r["message"].get<std::string>().empty())
    line("Message:", r["message"].get<std::string>());
  if (r.contains("warnings") && r["warnings"].is_array())
    for (const auto& w : r["warnings"]) line("Warning:", w.is_string() ? w.get<std::string>() : w.dump());
  if (r.contains("output") && r["output"].is_string()) {
    std::string out = r["output"].get<std::string>();
    std::printf("Output:%s\n", r.value("truncated", false) ? " (truncated)" : "");
    if (!out.empty()) std::printf("%s%s", out.c_str(), out.back() == '\n' ? "" : "\n");
  }
}

}  // namespace

int handler_command(const HandlerOptions& o) {
  auto request = build_request(o);
  if (!request) {
    print_input_error(o);
    return kExitBadInput;
  }

  SignalWatch signals;  // before the library's threads exist
  CtxPtr ctx = make_context(o.verbosity);
  if (!ctx) return kExitFailed;
  Completion completion;
  uint64_t op = 0;
  LibString error;
  std::string text = request->dump();
  int rc = lifehook_submit(ctx.get(), text.c_str(), on_done, &completion, &op, error.out());
  if (rc != LIFEHOOK_OK) {
    std::string why = rc == LIFEHOOK_E_INVALID ? error.str() : describe_failure(rc, error);
    if (o.output == "json")
      std::printf("%s\n", json{{"status", lifehook_status_name(rc)}, {"error", why}}.dump().c_str());
    std::fprintf(stderr, "lifehook handler: %s\n", why.c_str());
    return rc == LIFEHOOK_E_INVALID ? kExitBadInput : kExitFailed;
  }
  bool canceled = false;
  for (;;) {
    {
      std::lock_guard lock(completion.mu);
      if (completion.done) break;
    }
    pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {completion.wake.fd(), POLLIN, 0}};
    poll(fds, 2, 1000);
    if (!signals.take().empty() && !canceled) {
      canceled = true;
      lifehook_cancel(ctx.get(), op);
    }
    completion.wake.clear();
  }
  json result = json::parse(completion.result, nullptr, false);
  if (o.output == "json")
    std::printf("%s\n", completion.result.c_str());
  else if (result.is_object())
    print_text(result);
  else
    std::printf("%s\n", completion.result.c_str());
  std::fflush(stdout);
  return result.is_object() && result.value("outcome", "") == "success" ? kExitOk : kExitFailed;
}

int version_command() {
  uint32_t abi = lifehook_abi_version();
  std::printf("lifehook CLI  %s\n", LIFEHOOK_VERSION_STRING);
  std::printf("library       %s\n", lifehook_version());
  std::printf("ABI           %u.%u (CLI built against %d.%d)\n", abi >> 16, abi & 0xffff, LIFEHOOK_ABI_MAJOR,
              LIFEHOOK_ABI_MINOR);
  if ((abi >> 16) != LIFEHOOK_ABI_MAJOR) {
    std::fprintf(stderr, "lifehook: the loaded library's ABI major %u differs from the CLI's %d\n", abi >> 16,
                 LIFEHOOK_ABI_MAJOR);
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace lifehook_cli
