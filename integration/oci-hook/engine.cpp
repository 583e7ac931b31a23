#include "engine.hpp"

#include "hook_error.hpp"

namespace ocihook {

namespace {

std::string take(char* s) {
  std::string out = s ? s : "";
  lifehook_free(s);
  return out;
}

std::string clip(std::string s, size_t max) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

}  // namespace

std::string RunOutcome::outcome() const { return result.is_object() ? result.value("outcome", "") : ""; }
std::string RunOutcome::message() const { return result.is_object() ? result.value("message", "") : ""; }

std::string RunOutcome::why() const {
  if (status != LIFEHOOK_OK) return std::string(lifehook_status_name(status)) + ": " + error;
  std::string w = message();
  if (w.empty()) w = outcome();
  std::string out = result.is_object() && result.contains("output") && result["output"].is_string()
                        ? clip(result["output"].get<std::string>(), 200)
                        : "";
  if (!out.empty()) w += "; output: " + out;
  return w;
}

Engine::Engine(HookLog& log) {
  char* err = nullptr;
  std::string options =
      json{{"threads", 1}, {"logLevel", "info"}, {"userAgent", std::string("lifehook-oci-hook/") + lifehook_version()}}
          .dump();
  int rc = lifehook_ctx_new(options.c_str(), &ctx_, &err);
  if (rc != LIFEHOOK_OK) throw HookError(std::string("cannot start the lifehook library: ") + take(err));
  lifehook_ctx_set_logger(ctx_, &HookLog::from_library, &log, 2);
}

Engine::~Engine() { lifehook_ctx_free(ctx_); }

RunOutcome Engine::run(const json& request) {
  RunOutcome o;
  char* result = nullptr;
  char* err = nullptr;
  std::string text = request.dump();
  o.status = lifehook_run(ctx_, text.c_str(), &result, &err);
  o.error = take(err);
  std::string result_text = take(result);
  if (o.status == LIFEHOOK_OK) {
    o.result = json::parse(result_text, nullptr, false);
    if (o.result.is_discarded()) {
      o.status = LIFEHOOK_E_SYSTEM;
      o.error = "the library returned a result that is not JSON";
    }
  }
  return o;
}

}  // namespace ocihook
