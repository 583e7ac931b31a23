#include "prober.hpp"

#include "../common/errors.hpp"
#include "../context/context.hpp"

namespace lifehook::probe {

Attempt to_attempt(bool exec, Result r) {
  Attempt a;
  switch (r.outcome) {
    case Outcome::Success:
      a.verdict = Verdict::Success;
      if (r.http_status && *r.http_status >= 300 && *r.http_status < 400) {
        // An unfollowed redirect (other host, scheme change): probe.Warning (pkg/probe/http/http.go).
        a.warning = true;
        a.output = "Probe terminated redirects, Response body: " + r.output.value_or("");
      } else {
        a.output = r.output.value_or("");
      }
      break;
    case Outcome::Failure:
    case Outcome::Timeout:
      a.verdict = Verdict::Failure;
      // exec: the command's output is the message (pkg/probe/exec); httpGet: "HTTP probe failed
      // with statuscode: N" without the body (kubernetes#99425); tcpSocket: the dial error.
      if (exec && r.outcome == Outcome::Failure && r.output && !r.output->empty())
        a.output = *r.output;
      else
        a.output = r.message;
      break;
    case Outcome::Canceled:
      a.verdict = Verdict::Unknown;
      a.output = r.message;
      break;
    case Outcome::Error:
      a.verdict = Verdict::Failure;
      a.errored = true;
      a.output = r.message;
      break;
  }
  a.result = std::move(r);
  return a;
}

uint64_t ContextProber::run(const Request& req, std::function<void(Attempt)> done) {
  bool exec = std::holds_alternative<ExecSpec>(req.handler);
  try {
    // The Request is copied into the handler run; the worker keeps the one it parsed.
    return ctx_.submit(
        req, [exec, done](uint64_t, const Result& r) { done(to_attempt(exec, r)); }, strand_ ? &*strand_ : nullptr);
  } catch (const std::exception& e) {
    // The context is closing (nothing will use the result: canceled), or the handler could not
    // be made (a prober error).
    const auto* err = dynamic_cast<const Error*>(&e);
    Result r;
    r.outcome = err && err->status() == LIFEHOOK_E_STATE ? Outcome::Canceled : Outcome::Error;
    r.message = e.what();
    done(to_attempt(exec, std::move(r)));
    return 0;
  }
}

void ContextProber::cancel(uint64_t id) {
  if (id) ctx_.cancel(id);
}

}  // namespace lifehook::probe
