// grpc: one grpc.health.v1.Health/Check call on the context's curl multi, judged as the kubelet's
// gRPC prober does (pkg/probe/grpc/grpc.go), with its messages:
// - SERVING is success ("service healthy"); any other serving status is a failure
//   ("service unhealthy (responded with \"NOT_SERVING\")");
// - a non-OK grpc-status is a failure, UNIMPLEMENTED with "this server does not implement the grpc
//   health protocol", NOT_FOUND (the server's answer for an unknown service) and the others with
//   "health rpc probe failed: rpc error: code = NotFound desc = unknown service";
// - a response that is not gRPC (another HTTP/2 server) gets its status from the HTTP status as a
//   gRPC client derives it (grpc/grpc doc/http-grpc-status-mapping.md), and is a failure;
// - a closed port, and a server that does not speak HTTP/2 (an HTTP/1.1 server, a TCP server
//   that sends anything else), are failures ("failed to connect service at ..."). The kubelet's
//   blocking dial retries those until its deadline and then reports a timeout; we report what
//   happened at once, with the reason from the transport;
// - the timeout is sent as grpc-timeout and enforced by the operation (stop(Timeout)): outcome
//   timeout, "timeout: failed to connect service ... within 1s" before the connection was up,
//   "timeout: health rpc did not complete within 1s" after; a server's DEADLINE_EXCEEDED too.
// There is no host in Kubernetes' GRPCAction: probes go to the pod IP. Ours defaults to
// target.podIP the same way and may name another host, as tcpSocket and httpGet do.
// Timeout and cancel take the easy handle out of the multi (on its strand), which closes the
// connection, and only then finish. With target.netns the socket is created in that namespace.
#include <spdlog/spdlog.h>

#include <boost/asio/defer.hpp>
#include <boost/asio/post.hpp>

#include "../plugin/common/errors.hpp"
#include "curl_multi.hpp"
#include "grpc_call.hpp"
#include "grpc_wire.hpp"
#include "handler.hpp"
#include "http_request.hpp"

namespace lifehook {
namespace {

namespace wire = grpc_wire;

// Go's net.JoinHostPort: IPv6 literals in brackets.
std::string join_host_port(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

class GrpcHealthRun final : public HandlerRun, public std::enable_shared_from_this<GrpcHealthRun> {
 public:
  GrpcHealthRun(RunEnv& env, Strand strand, const Request& req, const GrpcSpec& spec, const std::string& host,
                CurlUrl url, Finish finish)
      : env_(env),
        strand_(std::move(strand)),
        url_(std::move(url)),
        service_(spec.service),
        addr_(join_host_port(host, spec.port)),
        timeout_ms_(req.timeout_ms),
        purpose_(req.purpose),
        netns_(req.target.netns),
        complete_(std::move(finish)) {}

  void start() override {
    GrpcCall::Settings settings;
    settings.user_agent = default_user_agent(env_.options, purpose_);
    settings.timeout_ms = timeout_ms_;
    settings.netns = netns_;
    try {
      call_ = std::make_shared<GrpcCall>(url_.get(), wire::health_check_request(service_), settings, env_.curl);
    } catch (const std::exception& e) {
      return complete_(Outcome::Error, std::string("grpc: cannot set up the call: ") + e.what());
    }
    env_.log.debug("grpc: Health/Check service \"{}\" at {}", service_, addr_);
    env_.curl.add(call_->easy(), [self = shared_from_this(), call = call_](CURLcode rc) {
      // defer: a continuation of the multi's work, run by the same loop thread after it (no
      // other thread woken for the hop).
      boost::asio::defer(self->strand_, [self, call, rc] { self->finished(call, rc); });
    });
  }

  void stop(Outcome why) override {
    if (complete_.done() || stopping_) return;
    stopping_ = true;
    if (!call_) return complete_(why, stopped_message(why, false));
    // The handle leaves the multi on the multi's strand (closing the connection); only then is
    // the run finished, so a finished run never has a socket left open.
    auto call = std::move(call_);
    env_.curl.remove(call->easy(), [self = shared_from_this(), call, why]() mutable {
      boost::asio::post(self->strand_, [self, call, why]() mutable {
        bool connected = call->connected();  // out of the multi: nothing else touches the handle
        call.reset();
        self->complete_(why, self->stopped_message(why, connected));
      });
    });
  }

 private:
  std::string stopped_message(Outcome why, bool connected) const {
    if (why != Outcome::Timeout) return "grpc " + addr_ + ": canceled";
    std::string within = wire::go_duration(timeout_ms_);
    if (!connected)  // grpc.go: the blocking dial ran out of time
      return "timeout: failed to connect service \"" + addr_ + "\" within " + within + ": context deadline exceeded";
    return "timeout: health rpc did not complete within " + within;
  }

  void finished(const std::shared_ptr<GrpcCall>& call, CURLcode rc) {
    if (complete_.done() || stopping_ || call != call_) return;
    call_.reset();
    if (rc == CURLE_ABORTED_BY_CALLBACK)
      return complete_(Outcome::Canceled, "grpc " + addr_ + ": canceled (context closing)");
    // The pod's network namespace could not be entered: nothing was asked of the server, so
    // this is the request's fault (an error), not the server's (a failure).
    if (!call->netns_error().empty()) return complete_(Outcome::Error, "grpc " + addr_ + ": " + call->netns_error());
    if (!call->got_headers()) {
      std::string why = call->error_text(rc);
      if (call->connected()) why = "the server does not speak HTTP/2 (not a gRPC server?): " + why;
      return complete_(Outcome::Failure, "error: failed to connect service at \"" + addr_ + "\": " + why);
    }
    if (call->body_capped()) return judge_message(*call);  // stopped reading: no trailers will come
    if (rc != CURLE_OK && !call->grpc_status())
      return rpc_failed(14, "the stream ended before the response did: " + call->error_text(rc));  // Unavailable
    bool grpc_response = wire::is_grpc_content_type(call->content_type());
    if (!grpc_response || call->http_status() != 200) {
      // grpc-go's operateHeaders: a response that is not gRPC, described by what was wrong.
      std::string desc;
      if (call->http_status() != 200) desc = wire::http_status_error(call->http_status());
      if (!grpc_response)
        desc += (desc.empty() ? "" : "; ") + std::string("transport: received unexpected content-type \"") +
                utf8_excerpt(call->content_type()) + "\"";
      return rpc_failed(wire::status_from_http(call->http_status()), desc);
    }
    if (!call->grpc_status()) return rpc_failed(wire::kInternal, "server closed the stream without sending trailers");
    if (*call->grpc_status() != wire::kOk) return rpc_failed(*call->grpc_status(), call->grpc_message());
    judge_message(*call);
  }

  // grpc-status OK (or the body exceeded its bound): the response message decides.
  void judge_message(const GrpcCall& call) {
    auto m = wire::read_response_message(call.body(), GrpcCall::kMaxMessageBytes);
    switch (m.kind) {
      case wire::ResponseMessage::kNone: return rpc_failed(wire::kInternal, "the server sent no response message");
      case wire::ResponseMessage::kCompressed:
        return rpc_failed(wire::kInternal, "grpc: compressed response message, but no compression was offered");
      case wire::ResponseMessage::kTooLarge:  // grpc-go's words for a message above the receive limit
        return rpc_failed(wire::kResourceExhausted, "grpc: received message larger than max (" +
                                                        std::to_string(m.length) + " vs. " +
                                                        std::to_string(GrpcCall::kMaxMessageBytes) + ")");
      case wire::ResponseMessage::kTruncated: return rpc_failed(wire::kInternal, "the response ended inside a message");
      case wire::ResponseMessage::kExtra:
        return rpc_failed(wire::kInternal, "more than one response message for a unary call");
      case wire::ResponseMessage::kMessage: break;
    }
    auto status = wire::parse_health_check_response(m.message);
    if (!status)
      return rpc_failed(wire::kInternal,
                        "grpc: failed to unmarshal the response: not a grpc.health.v1.HealthCheckResponse");
    if (*status != wire::kServing)
      return complete_(Outcome::Failure,
                       "service unhealthy (responded with \"" + wire::serving_status_name(*status) + "\")");
    complete_(Outcome::Success, "service healthy");
  }

  // A failed RPC, in grpc.go's words ("rpc error: code = X desc = Y" is grpc-go's status error).
  void rpc_failed(int64_t code, const std::string& desc) {
    if (code == wire::kUnimplemented)
      return complete_(
          Outcome::Failure,
          "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): " + desc);
    if (code == wire::kDeadlineExceeded)
      return complete_(Outcome::Timeout,
                       "timeout: health rpc did not complete within " + wire::go_duration(timeout_ms_));
    complete_(Outcome::Failure,
              "error: health rpc probe failed: rpc error: code = " + wire::status_code_name(code) + " desc = " + desc);
  }

  RunEnv& env_;
  Strand strand_;
  CurlUrl url_;
  std::string service_;
  std::string addr_;  // host:port as the messages show it
  int64_t timeout_ms_;
  Purpose purpose_;
  std::string netns_;               // target.netns: the socket is created in that network namespace
  std::shared_ptr<GrpcCall> call_;  // the call in flight, if any
  bool stopping_ = false;
  Completion complete_;
};

}  // namespace

std::shared_ptr<HandlerRun> make_grpc_run(RunEnv& env, Strand strand, const Request& req, Finish finish) {
  const auto& spec = std::get<GrpcSpec>(req.handler);
  std::string host = spec.host.empty() ? req.target.pod_ip : spec.host;
  if (host.empty()) throw_invalid("handler.grpc.host", "is required when target.podIP is not set");
  CurlUrl url = build_url(false, host, spec.port, std::string(grpc_wire::kHealthCheckPath), "handler.grpc");
  return std::make_shared<GrpcHealthRun>(env, std::move(strand), req, spec, host, std::move(url), std::move(finish));
}

}  // namespace lifehook
