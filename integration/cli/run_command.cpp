// `lifehook run FILE`: creates and starts every Pod of FILE and watches them like
// `kubectl get pod -w` until they finish or are terminated (Ctrl-C, SIGTERM, --for).
//
// Threads: the main thread owns all output and all decisions. Library callbacks (events) and
// terminate workers only push notices onto a queue and wake the main loop through an eventfd;
// signals arrive on a signalfd. Status is polled every 50 ms (lifehook_pod_status is cheap).
//
// Live updates: SIGHUP (and, with --watch, a change of FILE's modification time, size or inode,
// checked every second) re-reads FILE, validates it, and hands each running pod its new
// definition (lifehook_pod_update), matched by name; a pod added to or removed from FILE is
// reported and left as it is (only the definitions of the running pods change).
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <list>
#include <mutex>
#include <thread>

#include "commands.hpp"
#include "duration.hpp"
#include "library.hpp"
#include "signals.hpp"
#include "table.hpp"

namespace lifehook_cli {
namespace {

constexpr std::chrono::milliseconds kPollInterval{50};
constexpr std::chrono::milliseconds kWatchInterval{1000};  // --watch: how often FILE is looked at

// What tells that FILE changed (--watch): nullopt when it cannot be stat'ed.
struct FileStamp {
  struct timespec mtime {};
  off_t size = 0;
  ino_t ino = 0;
  bool operator==(const FileStamp& o) const {
    return mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec && size == o.size && ino == o.ino;
  }
};
std::optional<FileStamp> stamp_of(const std::string& file) {
  struct stat st {};
  if (file == "-" || ::stat(file.c_str(), &st) != 0) return std::nullopt;
  return FileStamp{st.st_mtim, st.st_size, st.st_ino};
}

// Something a library thread or a worker thread tells the main thread.
struct Notice {
  enum Kind { Event, Terminated } kind;
  size_t pod;
  std::string text;  // event JSON, or the terminate error
  int rc = 0;
};

class NoticeQueue {
 public:
  void push(Notice n) {
    {
      std::lock_guard lock(mu_);
      notices_.push_back(std::move(n));
    }
    wake_.notify();
  }
  std::deque<Notice> take() {
    wake_.clear();
    std::lock_guard lock(mu_);
    return std::exchange(notices_, {});
  }
  int fd() const { return wake_.fd(); }

 private:
  std::mutex mu_;
  std::deque<Notice> notices_;
  Wakeup wake_;
};

// The watch callback's user pointer: which queue, which pod.
struct WatchTarget {
  NoticeQueue* queue;
  size_t pod;
};

void on_event(void* user, const char* event_json) {
  auto* t = static_cast<WatchTarget*>(user);
  t->queue->push({Notice::Event, t->pod, event_json ? event_json : "", 0});
}

struct RunningPod {
  const PodManifest* manifest;
  std::string name;
  PodPtr pod;
  WatchTarget watch;
  std::chrono::steady_clock::time_point created;
  std::string last_key;
  std::optional<StatusRow> last_row;  // the last line printed (table output)
  std::string phase;
  std::vector<json> events;
  bool terminating = false;  // a terminate was requested
  bool terminated = false;   // lifehook_pod_terminate returned
  bool finished = false;     // Succeeded/Failed on its own
  bool broken = false;       // status could not be read
  bool adopted = false;      // resumed from --state-dir: running already
};

class Runner {
 public:
  explicit Runner(const RunOptions& o) : options_(o) {}

  int run() {
    std::optional<std::string> options_json = pod_options_json(options_.driver, options_.driver_options);
    if (!options_json) return kExitBadInput;
    // Writing to a closed pipe must not kill us while containers run (we stop them instead).
    signal(SIGPIPE, SIG_IGN);
    SignalWatch signals;  // before the library's threads exist
    CtxPtr ctx = make_context(options_.verbosity);
    if (!ctx) return kExitFailed;
    if (options_.watch && options_.file == "-") {
      std::fprintf(stderr, "lifehook: --watch needs a FILE (standard input cannot be read again)\n");
      return kExitBadInput;
    }
    LoadedManifests& manifests = manifests_.emplace_back();
    // Every problem, and every field that will be ignored, before anything starts.
    file_stamp_ = stamp_of(options_.file);
    if (!load_and_validate(ctx.get(), options_.file, *options_json, manifests)) return kExitBadInput;
    ctx_ = ctx.get();
    options_json_ = *options_json;

    int rc = create_pods(ctx.get(), manifests, *options_json);
    if (rc != kExitOk) return rc;
    std::vector<std::string> names;
    for (const auto& p : pods_) names.push_back(p.name);
    table_ = std::make_unique<StatusTable>(names, options_.output == "wide");
    if (options_.output != "json") emit(table_->header());

    for (auto& p : pods_) {
      if (p.adopted) continue;
      int src = lifehook_pod_start(p.pod.get());
      if (src != LIFEHOOK_OK) {
        std::fprintf(stderr, "lifehook: cannot start pod %s: %s\n", p.name.c_str(), lifehook_status_name(src));
        p.broken = true;
      }
    }
    loop(signals);
    int code = finish();
    ctx.reset();
    return code;
  }

 private:
  // --state-dir: DIR/<pod name> (absolute: the library wants it so).
  std::string pod_state_dir(const std::string& pod) const {
    std::error_code ec;
    auto base = std::filesystem::absolute(options_.state_dir, ec);
    return (ec ? std::filesystem::path(options_.state_dir) : base).lexically_normal().string() + "/" + pod;
  }

  int create_pods(lifehook_ctx* ctx, const LoadedManifests& manifests, const std::string& opts) {
    pods_.reserve(manifests.pods.size());  // WatchTarget addresses must stay put
    for (const auto& m : manifests.pods) {
      lifehook_pod* raw = nullptr;
      LibString error;
      std::string text = m.pod.dump();
      std::string pod_opts = opts;
      bool adopted = false;
      int rc;
      if (!options_.state_dir.empty()) {
        std::string dir = pod_state_dir(m.name);
        json o = json::parse(opts);
        o["podStateDir"] = dir;
        pod_opts = o.dump();
        if (std::filesystem::exists(dir + "/pod.json")) adopted = true;
      }
      if (adopted) {
        // What a previous run left there: its containers ran on; the persisted pod is resumed
        // (the manifest's copy is not applied to it).
        rc = lifehook_pod_adopt(ctx, pod_state_dir(m.name).c_str(), nullptr, nullptr, &raw, error.out());
        if (rc == LIFEHOOK_OK)
          std::fprintf(stderr, "lifehook: pod %s: resumed from %s\n", m.name.c_str(), pod_state_dir(m.name).c_str());
      } else {
        rc = lifehook_pod_create(ctx, text.c_str(), pod_opts.c_str(), nullptr, &raw, error.out());
      }
      if (rc != LIFEHOOK_OK && adopted) {
        std::fprintf(stderr, "lifehook: cannot resume pod %s from %s: %s\n", m.name.c_str(),
                     pod_state_dir(m.name).c_str(), describe_failure(rc, error).c_str());
        pods_.clear();
        return kExitFailed;
      }
      if (rc != LIFEHOOK_OK) {
        if (rc == LIFEHOOK_E_UNSUPPORTED)
          std::fprintf(stderr, "lifehook: driver %s cannot run pod %s: %s\n", options_.driver.c_str(), m.name.c_str(),
                       describe_failure(rc, error).c_str());
        else
          print_library_problem(manifests, m, rc == LIFEHOOK_E_INVALID ? error.str() : describe_failure(rc, error));
        pods_.clear();  // destroys the pods created so far (never started)
        return rc == LIFEHOOK_E_INVALID || rc == LIFEHOOK_E_UNSUPPORTED ? kExitBadInput : kExitFailed;
      }
      RunningPod& p = pods_.emplace_back();
      p.adopted = adopted;
      p.manifest = &m;
      p.name = m.name;
      p.pod.reset(raw);
      p.watch = {&queue_, pods_.size() - 1};
      p.created = std::chrono::steady_clock::now();
      int wrc = lifehook_pod_watch(raw, on_event, &p.watch);
      if (wrc != LIFEHOOK_OK)
        std::fprintf(stderr, "lifehook: no events for pod %s: %s\n", p.name.c_str(), lifehook_status_name(wrc));
    }
    return kExitOk;
  }

  void loop(SignalWatch& signals) {
    auto started = std::chrono::steady_clock::now();
    for (;;) {
      // Status first: a line shows what the pod is now, the events that led there follow it.
      poll_statuses();
      drain_notices();
      if (all_done()) break;
      auto timeout = kPollInterval;
      if (options_.run_for && !termination_requested_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(started + *options_.run_for -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) {
          request_termination(grace_ms(), "--for " + human_duration(*options_.run_for) + " elapsed");
          continue;
        }
        timeout = std::min(timeout, left);
      }
      // stdout is watched too (no events asked: POLLERR/POLLHUP come anyway): when the reader of
      // our pipe goes away the pods are terminated gracefully at once, as a Ctrl-C would, not at
      // the next status line we fail to write.
      if (options_.watch && !termination_requested_) {
        auto now = std::chrono::steady_clock::now();
        if (now >= next_watch_) {
          next_watch_ = now + kWatchInterval;
          std::optional<FileStamp> st = stamp_of(options_.file);
          if (st && (!file_stamp_ || !(*st == *file_stamp_))) {
            file_stamp_ = st;
            apply_file("the file changed");
          }
        }
        timeout = std::min(timeout, std::chrono::duration_cast<std::chrono::milliseconds>(next_watch_ - now));
      }
      pollfd fds[3] = {
          {signals.fd(), POLLIN, 0}, {queue_.fd(), POLLIN, 0}, {output_broken_ ? -1 : STDOUT_FILENO, 0, 0}};
      poll(fds, 3, static_cast<int>(timeout.count()));
      for (int sig : signals.take()) on_signal(sig);
      if (fds[2].revents & (POLLERR | POLLHUP | POLLNVAL)) output_closed();
    }
    poll_statuses();  // the final state, once terminate has returned
    drain_notices();
  }

  void on_signal(int sig) {
    if (sig == SIGHUP) {
      if (termination_requested_) return;
      if (options_.file == "-") {
        std::fprintf(stderr, "lifehook: SIGHUP: the manifest came from standard input and cannot be read again\n");
        return;
      }
      file_stamp_ = stamp_of(options_.file);
      apply_file("SIGHUP received");
      return;
    }
    ++signals_seen_;
    if (signals_seen_ == 1) {
      request_termination(
          grace_ms(),
          (sigabbrev_np(sig) ? "SIG" + std::string(sigabbrev_np(sig)) : std::string("signal")) + " received");
    } else if (signals_seen_ == 2) {
      std::fprintf(stderr, "lifehook: second signal: killing now (grace 0)\n");
      for (auto& p : pods_)
        if (!p.terminated && !p.finished) start_terminate(p, 0);
    }
  }

  // Re-reads FILE and hands each running pod its definition there (lifehook_pod_update).
  void apply_file(const std::string& why) {
    std::fprintf(stderr, "lifehook: %s: applying %s\n", why.c_str(), options_.file.c_str());
    // Earlier loads stay: the pods' manifests (error lines) point into them.
    LoadedManifests& m = manifests_.emplace_back();
    if (!load_and_validate(ctx_, options_.file, options_json_, m)) {
      std::fprintf(stderr, "lifehook: %s has problems: nothing applied\n", options_.file.c_str());
      return;
    }
    for (const auto& pm : m.pods) {
      auto it = std::find_if(pods_.begin(), pods_.end(), [&](const RunningPod& p) { return p.name == pm.name; });
      if (it == pods_.end()) {
        std::fprintf(stderr, "lifehook: pod %s is new in %s: not started (only running pods are updated)\n",
                     pm.name.c_str(), options_.file.c_str());
        continue;
      }
      RunningPod& p = *it;
      if (p.broken || p.finished || p.terminating) continue;
      if (p.manifest && p.manifest->pod == pm.pod) continue;  // unchanged
      LibString error;
      std::string text = pm.pod.dump();
      int rc = lifehook_pod_update(p.pod.get(), text.c_str(), error.out());
      if (rc == LIFEHOOK_OK) {
        std::fprintf(stderr, "lifehook: pod %s: updated\n", p.name.c_str());
        p.manifest = &pm;
      } else if (rc == LIFEHOOK_E_INVALID) {
        print_library_problem(m, pm, error.str());
      } else {
        std::fprintf(stderr, "lifehook: pod %s: not updated: %s\n", p.name.c_str(),
                     describe_failure(rc, error).c_str());
      }
    }
    for (const auto& p : pods_)
      if (std::none_of(m.pods.begin(), m.pods.end(), [&](const PodManifest& pm) { return pm.name == p.name; }))
        std::fprintf(stderr, "lifehook: pod %s is no longer in %s: left running (stop it with Ctrl-C)\n",
                     p.name.c_str(), options_.file.c_str());
  }

  int64_t grace_ms() const {
    return options_.grace_seconds ? static_cast<int64_t>(std::llround(*options_.grace_seconds * 1000)) : -1;
  }

  void request_termination(int64_t grace, const std::string& why) {
    termination_requested_ = true;
    std::string g = grace < 0 ? "the pod's grace period" : "grace " + human_grace(grace);
    std::fprintf(stderr, "lifehook: %s: terminating (%s)%s\n", why.c_str(), g.c_str(),
                 grace == 0 ? "" : "; press Ctrl-C again to kill now");
    for (auto& p : pods_)
      if (!p.finished && !p.broken) start_terminate(p, grace);
  }

  static std::string human_grace(int64_t ms) {
    char buf[32];
    if (ms % 1000 == 0)
      std::snprintf(buf, sizeof buf, "%" PRId64 "s", ms / 1000);
    else
      std::snprintf(buf, sizeof buf, "%.3gs", ms / 1000.0);
    return buf;
  }

  // lifehook_pod_terminate blocks until every container stopped, so it runs off the main thread.
  void start_terminate(RunningPod& p, int64_t grace) {
    // As kubectl shows Terminating once the deletion is requested: the line is printed now, even
    // when the containers stop faster than the next status poll could see it.
    if (!p.terminating && p.last_row && options_.output != "json" && !p.finished) {
      StatusRow row = *p.last_row;
      row.status = "Terminating";
      if (row.change_key() != p.last_key) {
        p.last_key = row.change_key();
        p.last_row = row;
        emit(table_->line(
            row, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - p.created)));
      }
    }
    p.terminating = true;
    size_t index = static_cast<size_t>(&p - pods_.data());
    lifehook_pod* pod = p.pod.get();
    workers_.emplace_back([this, pod, index, grace] {
      int rc = lifehook_pod_terminate(pod, grace);
      queue_.push({Notice::Terminated, index, "", rc});
    });
  }

  void drain_notices() {
    for (auto& n : queue_.take()) {
      RunningPod& p = pods_[n.pod];
      if (n.kind == Notice::Terminated) {
        if (n.rc != LIFEHOOK_OK && !p.terminated)
          std::fprintf(stderr, "lifehook: terminating pod %s: %s\n", p.name.c_str(), lifehook_status_name(n.rc));
        p.terminated = true;
        continue;
      }
      json e = json::parse(n.text, nullptr, false);
      if (!e.is_object()) continue;
      p.events.push_back(e);
      if (!options_.events) continue;
      if (options_.output == "json")
        emit(json{{"name", p.name}, {"event", e}}.dump());
      else
        emit(event_line(p.name, e));
    }
  }

  void poll_statuses() {
    for (auto& p : pods_) {
      if (p.broken || (p.finished && !p.terminating)) continue;
      LibString text;
      int rc = lifehook_pod_status(p.pod.get(), text.out());
      if (rc != LIFEHOOK_OK) {
        std::fprintf(stderr, "lifehook: cannot read the status of pod %s: %s\n", p.name.c_str(),
                     lifehook_status_name(rc));
        p.broken = true;
        continue;
      }
      json status = json::parse(text.str(), nullptr, false);
      if (!status.is_object()) continue;
      p.phase = status.value("phase", "");
      StatusRow row = status_row(p.name, options_.driver, status);
      // Until terminate returns the pod is Terminating, even if the library's status has not caught up yet.
      if (p.terminating && !p.terminated) row.status = "Terminating";
      if (row.change_key() != p.last_key) {
        p.last_key = row.change_key();
        p.last_row = row;
        auto age = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - p.created);
        if (options_.output == "json")
          emit(json{{"name", p.name}, {"time", rfc3339_now()}, {"status", status}}.dump());
        else
          emit(table_->line(row, age));
      }
      if (p.phase == "Succeeded" || p.phase == "Failed") p.finished = true;
    }
  }

  bool all_done() const {
    for (const auto& p : pods_) {
      if (p.broken) continue;
      if (p.terminating ? !p.terminated : !p.finished) return false;
    }
    return true;
  }

  // Joins workers, prints the events tables, decides the exit code; pods are destroyed after.
  int finish() {
    for (auto& w : workers_) w.join();
    workers_.clear();
    drain_notices();
    if (options_.events && options_.output != "json") {
      auto now = std::chrono::system_clock::now();
      for (const auto& p : pods_) {
        if (pods_.size() > 1)
          emit("\nName:  " + p.name);
        else
          emit("");
        emit_raw(events_table(p.events, now));
      }
    }
    int code = kExitOk;
    for (const auto& p : pods_) {
      if (p.broken)
        code = kExitFailed;
      else if (!p.terminating && p.phase == "Failed")
        code = kExitFailed;
    }
    pods_.clear();  // lifehook_pod_destroy: nothing is left running
    return code;
  }

  void emit(const std::string& line) { emit_raw(line + "\n"); }

  void emit_raw(const std::string& text) {
    if (output_broken_) return;
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (std::fflush(stdout) != 0) output_closed();
  }

  // stdout is gone (a closed pipe): stop the pods rather than run on unseen.
  void output_closed() {
    if (output_broken_) return;
    output_broken_ = true;
    if (!termination_requested_) request_termination(grace_ms(), "output closed");
  }

  const RunOptions& options_;
  lifehook_ctx* ctx_ = nullptr;
  std::string options_json_;
  std::list<LoadedManifests> manifests_;  // the first load and every reload (pods point into them)
  std::optional<FileStamp> file_stamp_;
  std::chrono::steady_clock::time_point next_watch_{};
  NoticeQueue queue_;
  std::vector<RunningPod> pods_;
  std::vector<std::thread> workers_;
  std::unique_ptr<StatusTable> table_;
  int signals_seen_ = 0;
  bool termination_requested_ = false;
  bool output_broken_ = false;
};

}  // namespace

int run_command(const RunOptions& options) { return Runner(options).run(); }

}  // namespace lifehook_cli
