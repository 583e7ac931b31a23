#include "hooks.hpp"

#include "../context/context.hpp"

namespace lifehook::pod {

uint64_t ContextHookExecutor::submit(const Request& req, Done done) { return ctx_.submit(req, std::move(done)); }

void ContextHookExecutor::cancel(uint64_t op) { ctx_.cancel(op); }

void Hooks::run(Container& c, HookKind kind, const HandlerSpec& h, Done done) {
  Request req;
  req.handler = h;
  req.target = c.instance.target;
  req.purpose = kind == HookKind::PostStart ? Purpose::PostStart : Purpose::PreStop;
  req.timeout_ms = 0;
  c.hook.kind = kind;
  c.hook.op = 0;
  ++in_flight_;
  try {
    // The op id is known only after submit returns; the completion carries it and is matched
    // against c.hook.op on the pod's strand (where we are, so it cannot be handled before this).
    c.hook.op = ex_.submit(req, done);
  } catch (const std::exception& e) {
    Result r;
    r.outcome = Outcome::Error;
    r.message = e.what();
    done(0, r);
  }
}

void Hooks::cancel(Container& c) {
  if (c.hook.kind != HookKind::None && c.hook.op != 0) ex_.cancel(c.hook.op);
  c.hook.kind = HookKind::None;
  c.hook.op = 0;
}

bool Hooks::completed(Container& c, HookKind kind, uint64_t op) {
  --in_flight_;
  if (c.hook.kind != kind || c.hook.op != op) return false;  // canceled or stale
  c.hook.kind = HookKind::None;
  c.hook.op = 0;
  return true;
}

std::string hook_failure_message(const ContainerSpec& c, const char* hook, const HandlerSpec& h, const Result& r,
                                 const std::string& pod) {
  std::string who = " for Container \"" + c.name + "\" in Pod \"" + pod + "\" failed - error: " + r.message;
  if (const auto* e = std::get_if<ExecSpec>(&h)) {
    std::string cmd;
    for (const auto& a : e->command) cmd += (cmd.empty() ? "" : " ") + a;
    return "Exec lifecycle hook ([" + cmd + "])" + who + ", message: " + json(r.output.value_or("")).dump();
  }
  if (std::holds_alternative<HttpGetSpec>(h)) {
    // HTTPGet.Path as written in the manifest (the request normalises it to start with "/")
    std::string path;
    const json* lc = field(c.raw, "lifecycle");
    const json* hj = lc ? field(*lc, hook) : nullptr;
    const json* g = hj ? field(*hj, "httpGet") : nullptr;
    const json* p = g ? field(*g, "path") : nullptr;
    if (p && p->is_string()) path = p->get<std::string>();
    return "HTTP lifecycle hook (" + path + ")" + who;
  }
  if (const auto* s = std::get_if<SleepSpec>(&h))
    return "Sleep lifecycle hook (" + std::to_string(s->milliseconds / 1000) + ")" + who;
  // The kubelet has no tcpSocket hook: its dispatcher fails it as an invalid handler.
  return "TCP lifecycle hook" + who;
}

std::vector<std::string> http_fallback_messages(const Result& r) {
  // handlers/http_get.cpp words the fallback "request to HTTPS HOST:PORT got HTTP response, ...".
  static const std::string prefix = "request to HTTPS ";
  std::vector<std::string> out;
  for (const auto& w : r.warnings)
    if (w.rfind(prefix, 0) == 0 && w.find(" got HTTP response, retry with HTTP succeeded") != std::string::npos)
      out.push_back(prefix + "lifecycle hook " + w.substr(prefix.size()));
  return out;
}

}  // namespace lifehook::pod
