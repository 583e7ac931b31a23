#include "standalone.hpp"

#include <boost/asio/post.hpp>

#include "../common/errors.hpp"
#include "../context/context.hpp"

namespace lifehook::probe {

StandaloneSpec parse_standalone(std::string_view probe_json, std::string_view target_json) {
  StandaloneSpec s;
  json t = target_json.empty() ? json() : parse_json_text(target_json, "target");
  s.target = parse_target(t, "target");
  json p = parse_json_text(probe_json, "probe");
  require_object(p, "probe");
  static constexpr ProbeType types[] = {ProbeType::Liveness, ProbeType::Readiness, ProbeType::Startup};
  std::optional<ProbeType> type;
  for (ProbeType ty : types) {
    std::string key(probe_field_name(ty));
    if (!p.contains(key)) continue;
    if (type)
      throw_invalid("probe", "must hold exactly one of livenessProbe, readinessProbe, startupProbe; found " +
                                 std::string(probe_field_name(*type)) + " and " + key);
    type = ty;
  }
  for (auto it = p.begin(); it != p.end(); ++it)
    if (it.key() != "livenessProbe" && it.key() != "readinessProbe" && it.key() != "startupProbe")
      throw_invalid("probe." + it.key(), "is not livenessProbe, readinessProbe or startupProbe");
  if (!type) throw_invalid("probe", "must hold one of livenessProbe, readinessProbe, startupProbe", json_value_text(p));
  std::string path(probe_field_name(*type));
  s.probe = parse_probe(p[path], path, *type, s.target.ports, s.target.env);
  // A network probe needs somewhere to go: its own host or the target's podIP.
  auto require_host = [&](const std::string& host, const char* kind) {
    if (host.empty() && s.target.pod_ip.empty())
      throw_invalid(path + "." + kind + ".host", "is required when target.podIP is not set");
  };
  if (const auto* h = std::get_if<HttpGetSpec>(&s.probe.handler)) require_host(h->host, "httpGet");
  if (const auto* h = std::get_if<TcpSocketSpec>(&s.probe.handler)) require_host(h->host, "tcpSocket");
  return s;
}

std::shared_ptr<Standalone> Standalone::create(Context& ctx, StandaloneSpec spec, Callback cb) {
  auto self = std::shared_ptr<Standalone>(new Standalone(ctx, std::move(spec), std::move(cb)));
  self->results_.set_listener(
      [weak = std::weak_ptr<Standalone>(self)](const std::string&, ProbeType, Verdict v, const Attempt*) {
        if (auto s = weak.lock()) s->on_result(v);
      });
  std::weak_ptr<void> owner = self;
  self->worker_ = Worker::create(
      owner, "", self->spec_.probe, probe_request(self->spec_.probe, self->spec_.target), self->timing_, self->prober_,
      self->results_,
      [raw = self.get()] {
        // The host's container is running from start() on; only a startup probe gates itself.
        ContainerView c;
        c.instance = 1;
        c.running = true;
        c.started_at = raw->started_at_;
        c.started = raw->spec_.probe.type != ProbeType::Startup;
        return c;
      },
      [raw = self.get()](const Worker&, const Attempt&) { raw->refresh(); });
  return self;
}

Standalone::Standalone(Context& ctx, StandaloneSpec spec, Callback cb)
    : ctx_(ctx),
      spec_(std::move(spec)),
      cb_(std::move(cb)),
      timing_(ctx.make_strand()),
      prober_(ctx, timing_.strand()) {}

Standalone::~Standalone() = default;

void Standalone::start() {
  started_at_ = timing_.now();
  boost::asio::post(timing_.strand(), [self = shared_from_this()] { self->worker_->start(); });
}

void Standalone::refresh() {
  std::lock_guard<std::mutex> lock(mu_);
  on_hold_ = worker_->on_hold();
  attempts_ = worker_->attempts();
  run_result_ = worker_->last_result();
  run_ = worker_->result_run();
  if (const Attempt* a = worker_->last_attempt()) last_ = *a;
}

void Standalone::on_result(Verdict v) {
  // On the strand, from inside the worker, before it decides to hold: the hold it is about to take
  // is part of this transition.
  std::string text;
  {
    std::lock_guard<std::mutex> lock(mu_);
    result_ = v;
  }
  refresh();
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto& type = spec_.probe.type;
    if (worker_->last_attempt() &&
        ((type == ProbeType::Liveness && v == Verdict::Failure) || type == ProbeType::Startup))
      on_hold_ = true;
    if (closed_ || !cb_) return;
    text = snapshot_locked().dump(-1, ' ', false, json::error_handler_t::replace);
    delivering_ = std::this_thread::get_id();
  }
  try {
    cb_(text);
  } catch (...) {  // a host callback must not unwind through the loop
  }
  std::lock_guard<std::mutex> lock(mu_);
  delivering_ = {};
  idle_.notify_all();
}

json Standalone::snapshot_locked() const {
  json j = json::object();
  j["type"] = probe_type_name(spec_.probe.type);
  j["result"] = verdict_name(result_);
  j["onHold"] = on_hold_;
  j["attempts"] = attempts_;
  j["consecutive"] = {{"result", verdict_name(run_result_)}, {"count", run_}};
  if (last_) {
    json a = json::object();
    a["result"] = verdict_name(last_->verdict);
    a["output"] = last_->output;
    if (last_->warning) a["warning"] = true;
    if (last_->errored) a["errored"] = true;
    a["handler"] = result_to_json(last_->result);
    j["lastAttempt"] = std::move(a);
  }
  j["stopped"] = closed_;
  return j;
}

std::string Standalone::state_json() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_locked().dump(-1, ' ', false, json::error_handler_t::replace);
}

void Standalone::close() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    auto me = std::this_thread::get_id();
    idle_.wait(lock, [&] { return delivering_ == std::thread::id{} || delivering_ == me; });
  }
  // The worker stops on its strand (an attempt in flight is canceled); what is queued drains
  // harmlessly, holding this object until then.
  boost::asio::post(timing_.strand(), [self = shared_from_this()] {
    self->worker_->stop();
    self->results_.set_listener({});
  });
}

}  // namespace lifehook::probe
