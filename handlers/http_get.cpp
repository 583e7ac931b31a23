// httpGet: one GET (plus redirects and the HTTPS→HTTP fallback) on the context's curl multi,
// with the kubelet's decisions (pkg/probe/http, pkg/kubelet/lifecycle/handlers.go):
// - success iff 200 <= status < 400; with kubeletCompat, any response for postStart/preStop
//   (the kubelet never checks a hook's status code, kubernetes#56963);
// - redirects (301/302/303/307/308 with a Location) are followed by us, never by curl: to the
//   same host name (any port) at most 10 times, the 11th is a failure ("stopped after 10
//   redirects"); to another host name they are not followed and the 3xx counts as success with
//   a warning (RedirectChecker(false)). A redirect that changes the scheme is not followed
//   either, even on the same host: following http→https against a plain-HTTP server is
//   kubernetes#136698 (a TLS failure that restarts healthy pods), and https→http would
//   silently downgrade. It is reported like an off-host redirect: success with a warning;
// - HTTPS→HTTP fallback: an https attempt whose TLS handshake fails because the server
//   answered in plain HTTP is retried once with http and without Authorization; if that gets a
//   response, the warning says so (the kubelet's LifecycleHTTPFallback event). The kubelet does
//   this for hooks only; with kubeletCompat we do the same, otherwise for every purpose.
// Timeout and cancel hand the transfer to the multi, which takes it out (closing the connection)
// on its strand, and finish with that outcome at once.
// With target.netns every connection socket is created inside that network namespace (so
// 127.0.0.1 is the pod's loopback); host names are still resolved on the host.
#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>
#include <boost/asio/defer.hpp>
#include <boost/asio/post.hpp>
#include <cctype>

#include "../plugin/common/errors.hpp"
#include "curl_multi.hpp"
#include "handler.hpp"
#include "http_request.hpp"
#include "http_transfer.hpp"

namespace lifehook {
namespace {

constexpr int kMaxRedirects = 10;  // Go's client: stopped after 10 redirects

bool is_followable_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool has_scheme(const std::string& location) {
  size_t colon = location.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = location[i];
    bool ok = std::isalpha(static_cast<unsigned char>(c)) ||
              (i > 0 && (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

class HttpGetRun final : public HandlerRun, public std::enable_shared_from_this<HttpGetRun> {
 public:
  HttpGetRun(RunEnv& env, Strand strand, const Request& req, const HttpGetSpec& spec, CurlUrl url, Finish finish)
      : env_(env),
        strand_(std::move(strand)),
        purpose_(req.purpose),
        headers_(spec.headers),
        netns_(req.target.netns),
        first_url_(std::move(url)),
        complete_(std::move(finish)) {
    hook_ = purpose_ == Purpose::PostStart || purpose_ == Purpose::PreStop;
    fallback_allowed_ = !env_.options.kubelet_compat || hook_;
  }

  void start() override { launch(first_url_.get(), /*keep_host=*/true, /*drop_authorization=*/false); }

  void stop(Outcome why) override {
    if (complete_.done() || stopping_) return;
    stopping_ = true;
    std::string msg = "HTTP GET " + current_url_ + (why == Outcome::Timeout ? ": timed out" : ": canceled");
    if (transfer_) {
      // The transfer now belongs to the multi: it leaves the multi on the multi's strand, which
      // closes the connection (a close may linger on a peer that never acknowledges), and is
      // destroyed there. The run does not wait for that: its result is due now, and
      // lifehook_ctx_free shuts the multi down (closing whatever is left) before it returns.
      auto transfer = std::move(transfer_);
      CURL* easy = transfer->easy();
      env_.curl.remove(easy, [transfer]() mutable { transfer.reset(); });
    }
    complete_(why, std::move(msg));
  }

 private:
  void launch(const CURLU* url, bool keep_host, bool drop_authorization) {
    HttpTransfer::Settings settings;
    settings.headers = plan_headers(headers_, env_.options, purpose_, keep_host, drop_authorization);
    settings.verify_tls = env_.options.verify_tls;
    settings.excerpt_bytes = std::min<size_t>(env_.options.max_output_bytes, 1024);
    settings.netns = netns_;
    try {
      transfer_ = std::make_shared<HttpTransfer>(url, settings, env_.curl);
    } catch (const std::exception& e) {
      return complete_(Outcome::Error, std::string("HTTP GET: cannot set up the transfer: ") + e.what());
    }
    keep_host_ = keep_host;
    dropped_authorization_ = drop_authorization;
    current_url_ = url_text(transfer_->url());
    env_.log.debug("httpGet: GET {}", current_url_);
    env_.curl.add(transfer_->easy(), [self = shared_from_this(), t = transfer_](CURLcode rc) {
      // defer: a continuation of the multi's work, run by the same loop thread after it (no
      // other thread woken for the hop).
      boost::asio::defer(self->strand_, [self, t, rc] { self->finished(t, rc); });
    });
  }

  void finished(const std::shared_ptr<HttpTransfer>& t, CURLcode rc) {
    if (complete_.done() || stopping_ || t != transfer_) return;
    transfer_.reset();
    if (rc == CURLE_ABORTED_BY_CALLBACK)
      return complete_(Outcome::Canceled, "HTTP GET " + current_url_ + ": canceled (context closing)");
    if (!t->got_response(rc)) return transport_error(*t, rc);
    long status = t->status();
    if (is_followable_redirect(status) && !t->location().empty()) return redirect(*t, status);
    respond(*t, status, {});
  }

  void transport_error(const HttpTransfer& t, CURLcode rc) {
    // The pod's network namespace could not be entered: nothing was asked of the server, so
    // this is the request's fault (an error), not the server's (a failure).
    if (!t.netns_error().empty()) return complete_(Outcome::Error, "HTTP GET " + current_url_ + ": " + t.netns_error());
    // A plain-HTTP server answering a TLS ClientHello makes OpenSSL fail the handshake
    // ("wrong version number"). The retry itself proves the diagnosis: only a server that
    // speaks HTTP answers it; for any other TLS failure the retry fails too and the original
    // error is reported.
    if (rc == CURLE_SSL_CONNECT_ERROR && fallback_allowed_ && !fell_back_ &&
        url_part(t.url(), CURLUPART_SCHEME) == "https") {
      fell_back_ = true;
      tls_error_ = t.error_text(rc);
      CurlUrl plain(curl_url_dup(const_cast<CURLU*>(t.url())));
      if (plain && curl_url_set(plain.get(), CURLUPART_SCHEME, "http", 0) == CURLUE_OK) {
        fallback_from_ = url_part(t.url(), CURLUPART_HOST) + ":" + url_part(t.url(), CURLUPART_PORT);
        return launch(plain.get(), keep_host_, /*drop_authorization=*/true);
      }
    }
    std::string error = t.error_text(rc);
    if (!tls_error_.empty()) error = tls_error_ + " (retry with HTTP: " + error + ")";
    Result r;
    r.outcome = Outcome::Failure;
    r.message = "HTTP GET " + current_url_ + ": " + error;
    complete_(std::move(r));
  }

  void redirect(const HttpTransfer& t, long status) {
    const std::string& location = t.location();
    CurlUrl next(curl_url_dup(const_cast<CURLU*>(t.url())));
    CURLUcode rc = next ? curl_url_set(next.get(), CURLUPART_URL, location.c_str(), CURLU_NON_SUPPORT_SCHEME)
                        : CURLUE_OUT_OF_MEMORY;
    if (rc != CURLUE_OK) {
      Result r;
      r.outcome = Outcome::Failure;
      r.http_status = static_cast<int>(status);
      r.message = "HTTP GET " + current_url_ + ": invalid redirect Location \"" + utf8_excerpt(location) +
                  "\": " + curl_url_strerror(rc);
      return complete_(std::move(r));
    }
    std::string next_url = url_text(next.get());
    std::string scheme = url_part(next.get(), CURLUPART_SCHEME);
    std::string host = url_part(next.get(), CURLUPART_HOST);
    if (first_host_.empty()) first_host_ = url_part(first_url_.get(), CURLUPART_HOST);  // on the first redirect
    if (strcasecmp(host.c_str(), first_host_.c_str()) != 0)
      return respond(t, status, "redirect from " + current_url_ + " to " + next_url + " not followed (other host)");
    if (scheme != url_part(t.url(), CURLUPART_SCHEME))
      return respond(t, status, "redirect from " + current_url_ + " to " + next_url + " not followed (scheme change)");
    if (redirects_ >= kMaxRedirects) {
      Result r;
      r.outcome = Outcome::Failure;
      r.http_status = static_cast<int>(status);
      r.message = "HTTP GET " + current_url_ + ": stopped after " + std::to_string(kMaxRedirects) + " redirects";
      r.warnings = warnings_;
      return complete_(std::move(r));
    }
    ++redirects_;
    // Go keeps a custom Host header through a redirect only when the Location is relative.
    launch(next.get(), keep_host_ && !has_scheme(location), dropped_authorization_);
  }

  void respond(const HttpTransfer& t, long status, std::string unfollowed) {
    Result r;
    r.http_status = static_cast<int>(status);
    r.output = utf8_excerpt(t.excerpt());
    r.truncated = t.body_bytes() > t.excerpt().size();
    r.warnings = warnings_;
    if (!fallback_from_.empty())
      r.warnings.push_back("request to HTTPS " + fallback_from_ + " got HTTP response, retry with HTTP succeeded");
    if (!unfollowed.empty()) r.warnings.push_back(std::move(unfollowed));
    bool ok = (status >= 200 && status < 400) || (env_.options.kubelet_compat && hook_);
    r.outcome = ok ? Outcome::Success : Outcome::Failure;
    r.message = ok ? "HTTP GET " + current_url_ + ": " + std::to_string(status)
                   : "HTTP probe failed with statuscode: " + std::to_string(status);  // the body stays out (#99425)
    if (t.body_capped())
      env_.log.debug("httpGet {}: stopped reading the body after {} bytes", current_url_, kMaxBodyBytes);
    for (const auto& w : r.warnings) env_.log.warn("httpGet {}: {}", current_url_, w);
    complete_(std::move(r));
  }

  RunEnv& env_;
  Strand strand_;
  Purpose purpose_;
  std::vector<HttpHeader> headers_;
  std::string netns_;  // target.netns: the sockets are created in that network namespace
  CurlUrl first_url_;
  std::string first_host_;
  bool hook_ = false;
  bool fallback_allowed_ = true;
  std::shared_ptr<HttpTransfer> transfer_;  // the attempt in flight, if any
  std::string current_url_;
  bool keep_host_ = true;
  bool dropped_authorization_ = false;
  int redirects_ = 0;
  bool fell_back_ = false;
  std::string fallback_from_;
  std::string tls_error_;
  std::vector<std::string> warnings_;
  bool stopping_ = false;
  Completion complete_;
};

}  // namespace

std::shared_ptr<HandlerRun> make_http_get_run(RunEnv& env, Strand strand, const Request& req, Finish finish) {
  const auto& spec = std::get<HttpGetSpec>(req.handler);
  std::string host = spec.host.empty() ? req.target.pod_ip : spec.host;
  if (host.empty()) throw_invalid("handler.httpGet.host", "is required when target.podIP is not set");
  CurlUrl url = build_url(spec.https, host, spec.port, spec.path, "handler.httpGet");
  return std::make_shared<HttpGetRun>(env, std::move(strand), req, spec, std::move(url), std::move(finish));
}

}  // namespace lifehook
