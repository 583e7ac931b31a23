#include "pod.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <future>

#include "../common/errors.hpp"
#include "../common/json_document.hpp"
#include "../common/regular_file.hpp"
#include "../os/state_file.hpp"
#include "reasons.hpp"
#include "update.hpp"
#include "validate.hpp"

namespace lifehook::pod {

namespace {

// Timeouts from this many ms on (about 290 000 years) mean "forever": a deadline that far would
// overflow the clock.
constexpr int64_t kForeverMs = int64_t{1} << 53;

}  // namespace

PodOptions parse_pod_options(const char* options_json) {
  PodOptions o;
  if (!options_json || !*options_json) return o;
  json j = parse_json_document(options_json, "options", "options");
  require_object(j, "options");
  o.raw = j;
  if (const json* d = field(j, "driver")) {
    if (!d->is_string()) throw_invalid("options.driver", "must be a string", json_value_text(*d));
    o.driver = d->get<std::string>();
  }
  auto ms = [&](const char* key, Millis dflt) {
    int64_t v = get_int(j, key, "options", dflt.count());
    if (v < 0 || v > int64_t{365} * 86400 * 1000)
      throw_invalid(std::string("options.") + key, "must be between 0 and 31536000000 ms", json_value_text(j[key]));
    return Millis{v};
  };
  o.backoff.initial = ms("backoffInitialMs", o.backoff.initial);
  o.backoff.max = ms("backoffMaxMs", o.backoff.max);
  o.backoff.reset = ms("backoffResetMs", o.backoff.reset);
  if (const json* d = field(j, "podStateDir")) {
    if (!d->is_string() || d->get<std::string>().empty() || d->get<std::string>()[0] != '/')
      throw_invalid("options.podStateDir", "must be an absolute directory path", json_value_text(*d));
    o.state_dir = d->get<std::string>();
  }
  return o;
}

std::shared_ptr<Pod> Pod::create(Context& ctx, PodSpec spec, PodOptions options, DriverFactory make_driver,
                                 bool adopting) {
  std::shared_ptr<Pod> pod(new Pod(ctx, std::move(spec), std::move(options)));
  std::weak_ptr<Pod> weak = pod;
  auto post = [weak](Work work) {
    if (auto self = weak.lock()) self->post(std::move(work));
  };
  auto run_locked = [weak](const Work& work) {
    if (auto self = weak.lock()) self->run_locked(work);
  };
  auto events = pod->events_;
  LifecycleEnv env{real_clock(), pod->strand_,        post,
                   run_locked,   pod->hook_executor_, [events](Event e) { events->add(std::move(e)); },
                   ctx.log(),    pod->prober_};
  pod->lifecycle_ = std::make_unique<Lifecycle>(pod->spec_, pod->options_.backoff, std::move(env));
  drivers::DriverEnv denv{
      ctx, pod->spec_, [post](const std::string& name, drivers::InstanceId instance, int code, int sig) {
        post([name, instance, code, sig](Lifecycle& l, Deferred& d) { l.on_exit(name, instance, code, sig, d); });
      }};
  auto driver = make_driver(std::move(denv));
  driver->validate(pod->spec_);
  if (!pod->options_.state_dir.empty() && !driver->can_adopt())
    throw Error(LIFEHOOK_E_UNSUPPORTED,
                std::string("options.podStateDir: the ") + driver->name() +
                    " driver's containers die with their host, so its pods cannot be adopted (the oci driver's can)");
  // Before the driver does anything: it must not touch the containers of a pod another process holds.
  if (!pod->options_.state_dir.empty()) pod->claim_state_dir(adopting);
  pod->warnings_ = unimplemented_fields(pod->spec_, *driver);
  pod->host_reports_exits_ = !driver->reports_exits();
  pod->lifecycle_->set_driver(std::move(driver));
  return pod;
}

Pod::Pod(Context& ctx, PodSpec spec, PodOptions options)
    : ctx_(ctx),
      spec_(std::move(spec)),
      options_(std::move(options)),
      strand_(ctx.make_strand()),
      events_(std::make_shared<EventLog>(ctx.io(), spec_.name)),
      hook_executor_(ctx),
      prober_(ctx),
      active_deadline_s_(spec_.active_deadline_s) {}

std::shared_ptr<Pod> Pod::adopt(Context& ctx, const std::string& state_dir, const json& options,
                                const std::function<DriverFactory(const PodOptions&)>& factory_for) {
  std::string path = state_dir + "/" + kStateFile;
  std::optional<std::string> text;
  try {
    text = read_file_if_exists(path, kMaxStateBytes);
  } catch (const FileReadError& e) {
    throw Error(LIFEHOOK_E_INVALID, std::string("state_dir: ") + e.what());
  }
  if (!text)
    throw Error(LIFEHOOK_E_NOT_FOUND, "state_dir: " + state_dir + " holds no pod state (no " + kStateFile + ")");
  json doc = json::parse(*text, nullptr, false);
  if (!doc.is_object() || doc.value("kind", "") != "LifehookPodState" || doc.value("version", 0) != 1 ||
      !doc.contains("pod") || !doc.value("options", json()).is_object() || !doc.contains("lifecycle"))
    throw Error(LIFEHOOK_E_INVALID, "state_dir: " + path + " is not a pod state lifehook wrote");
  json merged = doc["options"];
  if (options.is_object()) merged.update(options);
  merged["podStateDir"] = state_dir;
  std::string merged_text = merged.dump();
  PodOptions opts = parse_pod_options(merged_text.c_str());
  PodSpec spec = parse_pod(doc["pod"].dump().c_str());
  DriverFactory factory = factory_for(opts);
  auto pod = create(ctx, std::move(spec), std::move(opts), std::move(factory), true);
  // On the strand, as every change: the restored containers' probes and exit reports start there.
  std::promise<void> restored;
  auto fut = restored.get_future();
  boost::asio::post(pod->strand_, [pod, &doc, &restored] {
    try {
      pod->run_locked([&](Lifecycle& l, Deferred& d) {
        l.restore(doc["lifecycle"], d);
        pod->arm_active_deadline();
      });
      restored.set_value();
    } catch (...) {
      restored.set_exception(std::current_exception());
    }
  });
  fut.get();
  return pod;
}

Pod::~Pod() {
  // shutdown() normally ran; if not (creation failed half-way), nothing was started.
  events_->close();
}

void Pod::claim_state_dir(bool adopting) {
  const std::string& dir = options_.state_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw_system("options.podStateDir: create " + dir, ec.value());
  state_lock_ = UniqueFd(::open((dir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!state_lock_) throw_system("options.podStateDir: open " + dir + "/.lock", errno);
  if (::flock(state_lock_.get(), LOCK_EX | LOCK_NB) != 0)
    throw_state("options.podStateDir: " + dir + " is in use by another process (its pod is held there)");
  if (!adopting && ::access((dir + "/" + kStateFile).c_str(), F_OK) == 0)
    throw_state("options.podStateDir: " + dir +
                " holds the state of a pod already: adopt it (lifehook_pod_adopt) or choose another directory");
}

std::string Pod::state_document() const {
  if (options_.state_dir.empty()) return {};
  json doc = {{"kind", "LifehookPodState"},
              {"version", 1},
              {"pod", lifecycle_->definition().raw},  // the latest applied update's, if any
              {"options", options_.raw},
              {"lifecycle", lifecycle_->snapshot()}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

void Pod::persist(const std::string& doc) {
  if (doc.empty() || doc == persisted_) return;
  try {
    write_file_atomically(options_.state_dir + "/" + kStateFile, doc, kMaxStateBytes);
    persisted_ = doc;
  } catch (const std::exception& e) {
    if (!persist_failed_) ctx_.log().error("pod {}: cannot persist its state: {}", spec_.name, e.what());
    persist_failed_ = true;
  }
}

void Pod::post(Work work) {
  boost::asio::post(strand_, [weak = weak_from_this(), work = std::move(work)] {
    if (auto self = weak.lock()) self->run_locked(work);
  });
}

void Pod::run_locked(const Work& work) {
  Deferred d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (detached_) return;
    work(*lifecycle_, d);
    observe_conditions(view(), real_clock().wall_now());  // lastTransitionTime of what changed
    // Under the lock: a state the host could read (lifehook_pod_status) is on disk already, so a
    // host that dies right after seeing it leaves that state to its successor.
    persist(state_document());
  }
  for (auto& f : d) f();
  // Waiters see the state only once the driver calls it produced have run: terminate does not
  // return before the removal of the last container reached the driver.
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = lifecycle_->stopped();
  terminal_ = lifecycle_->terminal();
  changed_.notify_all();
}

void Pod::start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (lifecycle_->started()) throw_state("pod " + spec_.name + " was already started");
    if (lifecycle_->terminating() || detached_) throw_state("pod " + spec_.name + " is terminating");
    lifecycle_->mark_started();
  }
  post([this](Lifecycle& l, Deferred& d) {
    arm_active_deadline();
    l.advance(d);
  });
}

void Pod::arm_active_deadline() {
  // Counted from startTime, which an adopted pod had before this process (the kubelet's
  // active_deadline.go compares with status.startTime too).
  Millis elapsed{0};
  if (auto start = lifecycle_->view().start_time)
    elapsed = std::max(Millis{0}, std::chrono::duration_cast<Millis>(real_clock().wall_now() - *start));
  deadline_from_ = real_clock().now() - elapsed;
  rearm_active_deadline();
}

void Pod::rearm_active_deadline() {
  if (!active_deadline_s_ || !deadline_from_) return;
  if (!deadline_timer_) deadline_timer_ = real_clock().make_timer(strand_);
  auto at = saturating_add(*deadline_from_, std::chrono::seconds(*active_deadline_s_));
  deadline_timer_->arm(at, [weak = weak_from_this()] {
    if (auto self = weak.lock())
      self->run_locked([pod = self.get()](Lifecycle& l, Deferred& d) { pod->on_active_deadline(l, d); });
  });
}

void Pod::on_active_deadline(Lifecycle& l, Deferred& d) {
  if (l.terminal() || l.terminating()) return;
  deadline_exceeded_ = true;
  auto reason = EventReason::DeadlineExceeded;
  events_->add(Event{std::string(event_type(reason)), std::string(name(reason)), kDeadlineExceededMessage, "",
                     real_clock().wall_now()});
  l.terminate(spec_.grace_ms, real_clock().now(), d);
}

void Pod::update(PodSpec next) {
  std::lock_guard<std::mutex> lock(mu_);
  if (detached_) throw_state("pod " + spec_.name + " is destroyed");
  if (lifecycle_->terminating() || deadline_exceeded_)
    throw_state("pod " + spec_.name + " is terminating: its definition can no longer change");
  if (lifecycle_->terminal()) throw_state("pod " + spec_.name + " has completed: its definition can no longer change");
  const PodSpec& current = updates_.empty() ? spec_ : updates_.back();
  check_update(current, next);
  drivers::Driver& driver = lifecycle_->driver();
  driver.validate(next);
  std::vector<Finding> warnings = unimplemented_fields(next, driver);
  bool deadline_changed = next.active_deadline_s != active_deadline_s_;
  updates_.push_back(std::move(next));
  const PodSpec* n = &updates_.back();
  warnings_ = std::move(warnings);
  active_deadline_s_ = n->active_deadline_s;
  ctx_.log().info("pod {}: definition updated", spec_.name);
  post([this, n, deadline_changed](Lifecycle& l, Deferred& d) {
    if (deadline_changed) rearm_active_deadline();
    l.update(*n, d);
  });
}

void Pod::container_exited(const std::string& name, int exit_code, int signal) {
  if (!lifecycle_->has_container(name))
    throw Error(LIFEHOOK_E_NOT_FOUND, "container_name: no container named \"" + name + "\" in pod " + spec_.name);
  if (!host_reports_exits_)
    throw_state("pod " + spec_.name +
                ": its driver reports container exits itself (lifehook_pod_container_exited is for host drivers)");
  // The host knows its containers by name: the report is about the instance current when it
  // reaches the strand.
  post([name, exit_code, signal](Lifecycle& l, Deferred& d) {
    l.on_exit(name, kCurrentInstance, exit_code, signal, d);
  });
}

void Pod::terminate(int64_t grace_ms) {
  if (ctx_.on_loop_thread())
    throw_state("lifehook_pod_terminate must not be called from a library callback (it blocks until the pod stopped)");
  auto requested = real_clock().now();  // the deadline counts from the call, not from when the loop gets to it
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (detached_) return;
    if (!deletion_time_) deletion_time_ = real_clock().wall_now();
  }
  int64_t grace = grace_ms < 0 ? spec_.grace_ms : grace_ms;
  post([grace, requested](Lifecycle& l, Deferred& d) { l.terminate(grace, requested, d); });
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return stopped_ || detached_; });
}

bool Pod::wait(int64_t timeout_ms) {
  if (ctx_.on_loop_thread()) throw_state("lifehook_pod_wait must not be called from a library callback");
  std::unique_lock<std::mutex> lock(mu_);
  auto done = [this] { return terminal_ || stopped_ || detached_; };
  if (timeout_ms < 0 || timeout_ms >= kForeverMs) {  // forever, never a wrapped instant
    changed_.wait(lock, done);
    return true;
  }
  return changed_.wait_for(lock, Millis(timeout_ms), done);
}

PodView Pod::view() const {
  PodView v = lifecycle_->view();
  v.warnings = &warnings_;
  v.condition_times = &condition_times_;
  v.host_conditions = &host_conditions_;
  v.deadline_exceeded = deadline_exceeded_;
  // Stopped by the kubelet, not deleted: a deletionTimestamp only once the host asked for it.
  if (deadline_exceeded_) v.deletion_time = deletion_time_;
  return v;
}

std::string Pod::status_json() {
  std::lock_guard<std::mutex> lock(mu_);
  // Hook output in messages may be any bytes: invalid UTF-8 is replaced, never a throw.
  return build_status(view(), real_clock().wall_now()).dump(-1, ' ', false, json::error_handler_t::replace);
}

void Pod::set_condition(json condition) {
  std::lock_guard<std::mutex> lock(mu_);
  if (detached_) throw_state("pod " + spec_.name + " is destroyed");
  auto same = [&](const json& c) { return c["type"] == condition["type"]; };
  auto it = std::find_if(host_conditions_.begin(), host_conditions_.end(), same);
  if (it != host_conditions_.end()) {
    *it = std::move(condition);
  } else {
    if (host_conditions_.size() >= kMaxHostConditions)
      throw_invalid("condition.type", "is one condition too many: a pod holds at most " +
                                          std::to_string(kMaxHostConditions) + " conditions set by the host");
    host_conditions_.push_back(std::move(condition));
  }
  observe_conditions(view(), real_clock().wall_now());
  changed_.notify_all();
}

void Pod::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (detached_) return;
  }
  if (ctx_.on_loop_thread()) throw_state("lifehook_pod_destroy must not be called from a library callback");
  bool stopped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped = lifecycle_->stopped() || !lifecycle_->started();
  }
  if (!stopped) {
    auto requested = real_clock().now();
    post([requested](Lifecycle& l, Deferred& d) { l.terminate(0, requested, d); });
    std::unique_lock<std::mutex> lock(mu_);
    // A host driver that never reports the exits must not hang the host forever (the lifecycle
    // counts them lost kExitReportWindow after SIGKILL; this is the last resort).
    if (!changed_.wait_for(lock, std::chrono::seconds(30), [this] { return stopped_; }))
      ctx_.log().error("pod {}: containers did not stop within 30 s of SIGKILL; giving up on them", spec_.name);
  }
  events_->close();
  // Release the timers, the hooks and the driver on the strand, where they are used, and wait.
  std::promise<void> released;
  auto fut = released.get_future();
  boost::asio::post(strand_, [self = shared_from_this(), &released] {
    std::unique_ptr<drivers::Driver> driver;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->detached_ = true;
      driver = self->lifecycle_->release();
      self->deadline_timer_.reset();
      self->changed_.notify_all();
    }
    driver.reset();  // kills and reaps anything left (process driver)
    released.set_value();
  });
  fut.wait();
  if (!options_.state_dir.empty()) {
    // Nothing is left to adopt: the state goes, and the directory if nothing else is in it.
    const std::string& dir = options_.state_dir;
    for (const std::string& name : {std::string(kStateFile), std::string(kStateFile) + ".tmp", std::string(".lock")})
      ::unlink((dir + "/" + name).c_str());
    state_lock_.reset();
    ::rmdir(dir.c_str());
  }
}

}  // namespace lifehook::pod
