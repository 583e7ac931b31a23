#include "events.hpp"

#include <boost/asio/post.hpp>
#include <ctime>
#include <nlohmann/json.hpp>

namespace lifehook::pod {

std::string rfc3339_ms(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

std::string event_json(const Event& e, const std::string& pod_name, int count,
                       std::optional<std::chrono::system_clock::time_point> first) {
  nlohmann::json j = {{"type", e.type},
                      {"reason", e.reason},
                      {"message", e.message},
                      {"container", e.container},
                      {"pod", pod_name},
                      {"time", rfc3339_ms(e.time)},
                      {"count", count},
                      {"firstTimestamp", rfc3339_ms(first.value_or(e.time))},
                      {"lastTimestamp", rfc3339_ms(e.time)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // messages may hold any bytes
}

void EventLog::add(Event e) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = e.type + '\0' + e.reason + '\0' + e.container + '\0' + e.message;
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (series_.size() >= kMaxSeries) series_.clear();  // a pod with 4096 distinct events: start counting anew
    it = series_.emplace(std::move(key), std::make_pair(0, e.time)).first;
  }
  std::string text = event_json(e, pod_name_, ++it->second.first, it->second.second);
  events_.push_back(std::move(text));
  if (events_.size() > kMaxKept) {
    events_.pop_front();
    ++base_;
  }
  schedule();
}

void EventLog::watch(lifehook_event_fn fn, void* user) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.push_back(Watcher{fn, user, base_});
  schedule();
}

void EventLog::schedule() {
  if (scheduled_ || closed_ || watchers_.empty()) return;
  scheduled_ = true;
  // A weak reference: a queued delivery must not keep the log (and the pod) alive.
  boost::asio::post(io_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->deliver();
  });
}

void EventLog::deliver() {
  std::unique_lock<std::mutex> lock(mu_);
  delivering_ = std::this_thread::get_id();
  // Round-robin over watchers, one event at a time each, until everyone is caught up: a new
  // event added during a callback is picked up by this same job (order per watcher is kept).
  for (;;) {
    bool any = false;
    for (size_t i = 0; i < watchers_.size() && !closed_; ++i) {
      Watcher& w = watchers_[i];
      if (w.next < base_) w.next = base_;  // a watcher that fell behind the kept window
      if (w.next >= base_ + events_.size()) continue;
      any = true;
      std::string text = events_[w.next++ - base_];
      lifehook_event_fn fn = w.fn;
      void* user = w.user;
      lock.unlock();
      fn(user, text.c_str());
      lock.lock();
    }
    if (!any || closed_) break;
  }
  scheduled_ = false;
  delivering_ = std::thread::id{};
  idle_.notify_all();
}

void EventLog::close() {
  std::unique_lock<std::mutex> lock(mu_);
  closed_ = true;
  if (delivering_ == std::this_thread::get_id()) return;
  idle_.wait(lock, [this] { return delivering_ == std::thread::id{}; });
}

}  // namespace lifehook::pod
