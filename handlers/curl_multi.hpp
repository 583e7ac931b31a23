// libcurl's multi interface driven by the context's Asio event loop (socket and timer
// callbacks): every httpGet of a context shares one multi handle, no thread per request.
//
// Threading: every call into the multi handle (add, remove, socket_action, info_read, cleanup)
// happens on one strand of the context's io_context. Callers hand over an easy handle with
// add() and get its result through a callback on that strand; they must not touch the easy
// handle (nor anything its callbacks write to) until that callback ran or remove() completed.
#pragma once

#include <curl/curl.h>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace lifehook {

class CurlMulti {
 public:
  // Called once per transfer on the multi's strand: the transfer's CURLcode, or
  // CURLE_ABORTED_BY_CALLBACK when the multi shut down before the transfer finished.
  using Done = std::function<void(CURLcode)>;

  CurlMulti(boost::asio::io_context& io, spdlog::logger& log);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // Stops every transfer and releases curl's resources; called by ~Context from a non-loop
  // thread while the loop still runs. Blocks until done.
  void shutdown();

  // Starts `easy` (posted to the strand). `done` keeps whatever owns `easy` alive.
  void add(CURL* easy, Done done);
  // Takes `easy` out of the multi if it is still in (its connection is closed; `done` is then
  // never called), then runs `removed` on the strand.
  void remove(CURL* easy, std::function<void()> removed);

  // Where a transfer's connection sockets are created: the host's network namespace (`netns`
  // empty) or the one whose file `netns` names (a pod's). When that namespace cannot be entered,
  // the socket is refused (curl reports a connect error) and `error` says why.
  struct SocketNamespace {
    std::string netns;
    std::string error;
  };

  // Makes every socket of `easy` SOCK_CLOEXEC with SO_LINGER {1, 1 s}, closed without blocking the
  // loop (lingering_close.hpp), its name resolved without ever blocking the strand (QUICK_EXIT),
  // created in `where` (may be
  // null: the host's namespace; else it must outlive the transfer). Call before add().
  void configure_sockets(CURL* easy, SocketNamespace* where = nullptr);

  // Easy handles for reuse: take_easy() hands out a handle in its default state (a reset one kept
  // from an earlier transfer, or a new one; null when curl cannot allocate), give_back() resets
  // one that is out of the multi and keeps it (at most kEasyPool; the rest are cleaned up).
  // curl_easy_reset restores every option to its default and keeps only what libcurl keeps
  // across a reset (its buffers; connections and the DNS cache belong to the multi), so each
  // transfer still starts from a fresh handle's settings and, with FRESH_CONNECT, a new
  // connection. Any thread.
  CURL* take_easy();
  void give_back(CURL* easy);
  static constexpr size_t kEasyPool = 64;

  // curl_global_init, exactly once per process, thread-safely.
  static void global_init(spdlog::logger& log);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace lifehook
