#include "context.hpp"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <future>

#include "../../handlers/curl_multi.hpp"
#include "../../handlers/http_syntax.hpp"
#include "../common/errors.hpp"
#include "../common/json_document.hpp"
#include "../os/cgroup.hpp"
#include "../os/cgroup_guard.hpp"
#include "../os/container_exec.hpp"
#include "operation.hpp"

namespace lifehook {

namespace {
thread_local const Context* t_loop_owner = nullptr;

int parse_level(const json& v, const std::string& path) {
  if (v.is_number_integer()) {
    int l = v.get<int>();
    if (l >= 0 && l <= 6) return l;
  } else if (v.is_string()) {
    static const char* names[] = {"trace", "debug", "info", "warning", "error", "critical", "off"};
    for (int i = 0; i < 7; ++i)
      if (v.get<std::string>() == names[i]) return i;
    if (v.get<std::string>() == "warn") return 3;
  }
  throw_invalid(path, "must be 0..6 or trace|debug|info|warning|error|critical|off", json_value_text(v));
}
}  // namespace

ContextOptions parse_context_options(const char* options_json) {
  ContextOptions o;
  if (!options_json || !*options_json) return o;
  json j = parse_json_document(options_json, "options", "options");
  require_object(j, "options");
  int64_t threads = get_int(j, "threads", "options", 2);
  if (threads < 1 || threads > 64)
    throw_invalid("options.threads", "must be between 1 and 64", json_value_text(j["threads"]));
  o.threads = static_cast<int>(threads);
  if (const json* l = field(j, "logLevel")) o.log_level = parse_level(*l, "options.logLevel");
  int64_t max_out = get_int(j, "maxOutputBytes", "options", 10240);
  if (max_out < 0 || max_out > (int64_t{1} << 30))
    throw_invalid("options.maxOutputBytes", "must be between 0 and 1073741824", json_value_text(j["maxOutputBytes"]));
  o.handler.max_output_bytes = static_cast<size_t>(max_out);
  o.handler.user_agent = get_string(j, "userAgent", "options");
  if (!is_http_field_value(o.handler.user_agent))  // "ua\r\nX-Injected: 1" would be a second header line
    throw_invalid("options.userAgent", "must not contain CR, LF, NUL or other control characters but TAB",
                  json_value_text(j["userAgent"]));
  o.handler.kubelet_compat = get_bool(j, "kubeletCompat", "options", false);
  o.handler.verify_tls = get_bool(j, "verifyTLS", "options", false);
  return o;
}

Context::Context(const ContextOptions& options)
    : options_(options),
      logger_(options.log_level),
      // Concurrency hint 1 whatever the thread count: Asio's scheduler then keeps what a loop
      // thread queues (a timer's handler, a completion, a post from a handler) on that thread
      // instead of waking another for each queued handler, and the reactor thread runs what it
      // found itself. With the hint at the thread count every probe tick cost a hand-over (the
      // reactor thread wakes the idle one to take the reactor over, then sleeps on the scheduler's
      // condition): 5 context switches per tcpSocket probe and 17 per httpGet probe at 1000
      // probes/s, against ~2 with hint 1 (bench/probe_scale.cpp, "switches/probe"). The other
      // threads still take work posted from outside the loop (lifehook_submit, lifehook_run,
      // pods) whenever the first is busy, and locking stays on (only ASIO_CONCURRENCY_HINT_UNSAFE
      // removes it); see boost/asio/detail/impl/scheduler.ipp, one_thread_.
      io_(1),
      work_(boost::asio::make_work_guard(io_)),
      curl_(std::make_unique<CurlMulti>(io_, logger_.get())),
      cgroups_(std::make_unique<CgroupManager>(logger_.get())),
      env_(std::make_unique<RunEnv>(RunEnv{io_, options_.handler, logger_.get(), *curl_, *cgroups_})) {
  // Our threads block every signal: the host's signals belong to the host's threads, and a
  // SIGPIPE can never be delivered to (and kill) a Go host through one of ours. Threads they
  // start (Asio's resolver thread) inherit the mask.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  try {
    for (int i = 0; i < options_.threads; ++i) {
      threads_.emplace_back([this] { loop(); });
      // Named by us, before ctx_new returns, so the host's tools (top -H, /proc) can tell them apart.
      pthread_setname_np(threads_.back().native_handle(), kThreadName);
    }
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  count_live(+1);
  // After counting ourselves: the last context's stop_cgroup_guard() cannot undo this start.
  if (cgroups_->available()) start_cgroup_guard(cgroups_->base());
}

void Context::loop() {
  t_loop_owner = this;
  // Handlers catch their own errors; this is the last line so that an escaped exception costs
  // one handler, not the host process (std::terminate).
  for (;;) {
    try {
      io_.run();
      return;
    } catch (const std::exception& e) {
      logger_.get().error("event loop: uncaught exception: {}", e.what());
    } catch (...) {
      logger_.get().error("event loop: uncaught exception");
    }
  }
}

Context::~Context() {
  std::map<const void*, std::function<void()>> closers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    closers.swap(closers_);
  }
  for (auto& [key, close] : closers) {
    try {
      close();
    } catch (const std::exception& e) {
      logger_.get().error("closing a pod failed: {}", e.what());
    }
  }
  std::vector<std::shared_ptr<Operation>> ops;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, op] : ops_) ops.push_back(op);
  }
  for (auto& op : ops) op->stop(Outcome::Canceled);
  ops.clear();
  {
    // Every done callback has returned once the table is empty (finish() delivers, then erases).
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] { return ops_.empty(); });
  }
  curl_->shutdown();
  work_.reset();
  // Let queued clean-up (closing sockets, reaping) run out; the loop stops by itself when no
  // work is left. What still waits after that (a getaddrinfo in flight) is abandoned by stop().
  for (int i = 0; i < 200 && !io_.stopped(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  io_.stop();
  for (auto& t : threads_) t.join();
  // Destroy abandoned handlers now, while env_ (which they may refer to) still exists; this also
  // joins Asio's resolver thread.
  io_.discard_pending();
  count_live(-1);
}

namespace {
// Contexts alive in this process. The container-exec plan cache is process-wide (one container is
// one plan whichever context execs into it); when the last context goes, so does the cache and
// every descriptor it holds, so lifehook_ctx_free leaves nothing open and dlclose is clean. So does
// the cgroup guard (os/cgroup_guard.hpp), which every context with cgroups needs while it lives.
std::mutex g_live_mutex;
int g_live_contexts = 0;
}  // namespace

void Context::count_live(int delta) {
  std::lock_guard<std::mutex> lock(g_live_mutex);
  g_live_contexts += delta;
  if (g_live_contexts == 0) {
    clear_container_exec_cache();
    stop_cgroup_guard();
  }
}

bool Context::on_loop_thread() const { return t_loop_owner == this; }

uint64_t Context::submit(const Request& req, DoneFn done, const Strand* strand) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) throw_state("the context is being freed");
    id = next_op_++;
  }
  // Built outside the lock: making a run may do real work (and may throw, e.g. unsupported).
  auto op = Operation::create(*this, id, req, std::move(done), strand);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) throw_state("the context is being freed");
    ops_.emplace(id, op);
  }
  op->start();
  return id;
}

bool Context::cancel(uint64_t id) {
  std::shared_ptr<Operation> op;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = ops_.find(id);
    if (it == ops_.end() || it->second->delivered()) return false;
    op = it->second;
  }
  op->stop(Outcome::Canceled);
  return true;
}

Result Context::run(const Request& req) {
  if (on_loop_thread())
    throw_state(
        "lifehook_run must not be called from a library callback (it would block the event loop); use lifehook_submit");
  std::promise<Result> promise;
  auto future = promise.get_future();
  submit(req, [&promise](uint64_t, const Result& r) { promise.set_value(r); });
  return future.get();
}

void Context::finished(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  ops_.erase(id);
  if (ops_.empty()) idle_.notify_all();
}

void Context::add_closer(const void* key, std::function<void()> close) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closing_) throw_state("the context is being freed");
  closers_[key] = std::move(close);
}

void Context::remove_closer(const void* key) {
  std::lock_guard<std::mutex> lock(mu_);
  closers_.erase(key);
}

}  // namespace lifehook
