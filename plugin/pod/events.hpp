// A pod's event log and its watchers. Events are kept (a watcher added later gets the past ones
// first; the last kMaxKept of them, so a pod crash-looping for weeks does not grow without
// bound) and every watcher receives every event exactly once, in order.
//
// Repeated identical events (same type, reason, message and container) are aggregated as
// Kubernetes Event objects are (client-go tools/record EventCorrelator, its dedup cache): every
// occurrence is still delivered, carrying the series' "count" (1, 2, ...), "firstTimestamp"
// (of the first occurrence) and "lastTimestamp" (this one), so a reader keeps the latest of each.
//
// Threading: callbacks run on an event-loop thread of the context, from one delivery job per
// pod at a time (never two callbacks of the same pod concurrently), never with an engine lock
// held — so a callback may call lifehook_pod_status. The pod's state machine runs on its own
// strand, so a slow watcher delays only the delivery of this pod's events, not its deadlines
// (as long as another loop thread is free). Callbacks must not block for long.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "lifehook/lifehook.h"

namespace lifehook::pod {

struct Event {
  std::string type;  // Normal | Warning
  std::string reason;
  std::string message;
  std::string container;  // empty for pod-level events
  std::chrono::system_clock::time_point time;
};

// "2026-11-27T09:02:42.123Z"
std::string rfc3339_ms(std::chrono::system_clock::time_point t);
// count: occurrences of this event's series so far (this one included); first: the first's time.
std::string event_json(const Event& e, const std::string& pod_name, int count = 1,
                       std::optional<std::chrono::system_clock::time_point> first = std::nullopt);

class EventLog : public std::enable_shared_from_this<EventLog> {
 public:
  EventLog(boost::asio::io_context& io, std::string pod_name) : io_(io), pod_name_(std::move(pod_name)) {}
  void add(Event e);
  void watch(lifehook_event_fn fn, void* user);
  // After close() returns no callback runs any more (when called from inside a callback, the
  // one running finishes after close returns; nothing else starts).
  void close();

 private:
  struct Watcher {
    lifehook_event_fn fn;
    void* user;
    size_t next = 0;
  };
  void schedule();  // under mu_
  void deliver();

  boost::asio::io_context& io_;
  std::string pod_name_;
  mutable std::mutex mu_;
  std::condition_variable idle_;
  static constexpr size_t kMaxKept = 1000;
  // The dedup cache: key -> (count, first time). Bounded like client-go's LRU (4096 entries).
  static constexpr size_t kMaxSeries = 4096;
  std::unordered_map<std::string, std::pair<int, std::chrono::system_clock::time_point>> series_;
  std::deque<std::string> events_;
  size_t base_ = 0;  // sequence number of events_.front()
  std::vector<Watcher> watchers_;
  bool scheduled_ = false;
  bool closed_ = false;
  std::thread::id delivering_{};
};

}  // namespace lifehook::pod
