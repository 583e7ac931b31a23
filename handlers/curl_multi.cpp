// libcurl multi driven by Asio: curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION)
// and when to wake it up (CURLMOPT_TIMERFUNCTION); we wait with the context's epoll reactor and
// call curl_multi_socket_action. Never select()/curl_multi_fdset, so descriptors above
// FD_SETSIZE are fine (curl/curl#7718), and no thread per transfer.
#include "curl_multi.hpp"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/defer.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdlib>
#include <future>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

#include "../plugin/os/netns_socket.hpp"
#include "lingering_close.hpp"

namespace lifehook {

namespace {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

// Socket descriptors currently open in this process (for the wakeup-pair fix-up below).
std::set<int> open_sockets() {
  std::set<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return fds;
  int self = dirfd(dir);
  while (dirent* e = readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == self) continue;
    char link[64];
    ssize_t n = readlinkat(self, e->d_name, link, sizeof link - 1);
    if (n > 7 && std::string_view(link, 7) == "socket:") fds.insert(fd);
  }
  closedir(dir);
  return fds;
}

// curl_multi_init (7.88) creates its wakeup socketpair without SOCK_CLOEXEC (curl/curl#13618),
// so a host that forks and execs would leak it into its children. Mark the sockets that
// appeared during the call close-on-exec. A socket another host thread opened in that
// microsecond window would be marked as well: a negligible risk compared to leaking ours
// into every child of the host.
CURLM* multi_init_cloexec() {
  std::set<int> before = open_sockets();
  CURLM* multi = curl_multi_init();
  if (!multi) return nullptr;
  for (int fd : open_sockets()) {
    if (before.count(fd)) continue;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  return multi;
}

// Every connection socket is ours: SOCK_CLOEXEC from the start (no window in which a fork
// elsewhere in the host inherits it, curl/curl#2252) and SO_LINGER {1, 1 s} as the kubelet's
// probe dialer (kubernetes#89898): the FIN is sent and given up to 1 s to be acknowledged,
// instead of an RST that drops pending data (linger 0). curl's close() of such a socket would
// sleep on the strand for that second against a peer that never acknowledges; close_socket()
// below hands it to close_lingering() instead, which does the same without blocking.
// With a network namespace the socket is made there (a helper thread enters it, ~40 µs; see
// plugin/os/netns_socket.hpp and PERFORMANCE.md); the FRESH_CONNECT/FORBID_REUSE every transfer gets
// (curl_easy.cpp) guarantee that a connection made in one namespace is never reused for another transfer.
curl_socket_t open_socket(void* data, curlsocktype purpose, curl_sockaddr* addr) {
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  auto* where = static_cast<CurlMulti::SocketNamespace*>(data);
  int fd = -1;
  if (where && !where->netns.empty()) {
    try {
      fd = open_socket_in_netns(where->netns, addr->family, addr->socktype, addr->protocol).release();
    } catch (const std::exception& e) {  // never through curl's C frames
      where->error = e.what();
      return CURL_SOCKET_BAD;
    }
  } else {
    fd = ::socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  }
  if (fd < 0) return CURL_SOCKET_BAD;
  if (addr->family == AF_INET || addr->family == AF_INET6) {
    linger l{1, 1};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  return fd;
}

// CURLOPT_CLOSESOCKETFUNCTION: curl is done with `fd` (it stopped watching it already).
int close_socket(void* io, curl_socket_t fd) {
  close_lingering(*static_cast<boost::asio::io_context*>(io), fd);
  return 0;
}

// libcurl stays mapped for the life of the process: with CURLOPT_QUICK_EXIT, a resolver thread
// curl detached (a name server that never answers) may still be running libcurl's code after our
// last context is gone and a host dlclose()s us — and with us, the libcurl it would otherwise
// never have loaded.
void pin_libcurl() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&curl_easy_init), &info) && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);  // the handle is deliberately kept
}

}  // namespace

struct CurlMulti::Impl {
  // One socket curl asked us to watch. The descriptor is only borrowed from curl: it is always
  // release()d, never closed by Asio (curl closes its own sockets).
  struct Watch {
    Watch(Strand& strand, curl_socket_t s) : sd(strand, s), fd(s) {}
    boost::asio::posix::stream_descriptor sd;
    curl_socket_t fd;
    int wanted = 0;  // CURL_POLL_IN | CURL_POLL_OUT
    bool reading = false;
    bool writing = false;
    bool alive = true;
  };

  Impl(boost::asio::io_context& io, spdlog::logger& log)
      : log(log), io(io), strand(boost::asio::make_strand(io)), timer(strand) {
    multi = multi_init_cloexec();
    if (!multi) throw std::runtime_error("curl_multi_init failed");
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  }

  // curl: watch `s` for `what`, or stop watching it. Runs inside a multi call, on the strand.
  static int on_socket(CURL*, curl_socket_t s, int what, void* userp, void*) {
    auto* self = static_cast<Impl*>(userp);
    if (what == CURL_POLL_REMOVE) {
      self->unwatch(s);
      return 0;
    }
    auto& w = self->watches[s];
    if (!w) {
      try {
        w = std::make_shared<Watch>(self->strand, s);
      } catch (const std::exception& e) {  // the reactor refused the descriptor
        self->watches.erase(s);
        self->log.error("curl: cannot watch socket {}: {}", s, e.what());
        return -1;  // curl aborts the transfers on this socket
      }
    }
    w->wanted = what & (CURL_POLL_IN | CURL_POLL_OUT);
    self->arm(w);
    return 0;
  }

  // curl: call socket_action(CURL_SOCKET_TIMEOUT) after `ms` (-1: never). Never calls back into
  // curl from here. A 0 timeout ("as soon as possible": a transfer just added, a connection to
  // start) is run by settle() as soon as the curl call that asked for it has returned, on the same
  // strand: a zero-length timer would go through the reactor's timerfd, i.e. wake a loop thread.
  // An earlier timer still pending may fire later: a spurious CURL_SOCKET_TIMEOUT does nothing.
  static int on_timer(CURLM*, long ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    self->due_now = ms == 0;
    if (ms == 0) return 0;
    if (ms < 0) {
      self->timer.cancel();
      return 0;
    }
    self->timer.expires_after(std::chrono::milliseconds(ms));
    self->timer.async_wait([self](const boost::system::error_code& ec) {
      if (ec || self->closed) return;
      self->action(CURL_SOCKET_TIMEOUT, 0);
    });
    return 0;
  }

  void arm(const std::shared_ptr<Watch>& w) {
    using boost::asio::posix::descriptor_base;
    if ((w->wanted & CURL_POLL_IN) && !w->reading) {
      w->reading = true;
      w->sd.async_wait(descriptor_base::wait_read, [this, w](const boost::system::error_code& ec) {
        w->reading = false;
        if (ec || !w->alive || closed) return;
        if (w->wanted & CURL_POLL_IN) action(w->fd, CURL_CSELECT_IN);
        if (w->alive) arm(w);
      });
    }
    if ((w->wanted & CURL_POLL_OUT) && !w->writing) {
      w->writing = true;
      w->sd.async_wait(descriptor_base::wait_write, [this, w](const boost::system::error_code& ec) {
        w->writing = false;
        if (ec || !w->alive || closed) return;
        if (w->wanted & CURL_POLL_OUT) action(w->fd, CURL_CSELECT_OUT);
        if (w->alive) arm(w);
      });
    }
  }

  void unwatch(curl_socket_t s) {
    auto it = watches.find(s);
    if (it == watches.end()) return;
    it->second->alive = false;
    // Deregisters from epoll and cancels the pending waits; curl closes the descriptor itself.
    it->second->sd.release();
    watches.erase(it);
  }

  void action(curl_socket_t s, int events) {
    int running = 0;
    CURLMcode mc = curl_multi_socket_action(multi, s, events, &running);
    if (mc != CURLM_OK) log.error("curl_multi_socket_action: {}", curl_multi_strerror(mc));
    settle();
  }

  // After a call into curl: hands finished transfers over and runs the timeout curl asked for
  // "now" (on_timer with 0), a few rounds at most; more goes through a zero-length timer, so a
  // transfer that keeps asking cannot hold the strand.
  void settle() {
    for (int round = 0; round < 8; ++round) {
      complete_finished();
      if (!due_now || closed) return;
      due_now = false;
      int running = 0;
      CURLMcode mc = curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
      if (mc != CURLM_OK) log.error("curl_multi_socket_action: {}", curl_multi_strerror(mc));
    }
    complete_finished();
    if (due_now && !closed) arm_now();
  }

  void arm_now() {
    due_now = false;
    timer.expires_after(std::chrono::milliseconds(0));
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || closed) return;
      action(CURL_SOCKET_TIMEOUT, 0);
    });
  }

  void complete_finished() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      CURLcode rc = msg->data.result;  // msg is invalid once the handle is removed
      curl_multi_remove_handle(multi, easy);
      auto it = transfers.find(easy);
      if (it == transfers.end()) continue;
      Done done = std::move(it->second);
      transfers.erase(it);
      done(rc);
    }
  }

  void add(CURL* easy, Done done) {
    if (closed) return done(CURLE_ABORTED_BY_CALLBACK);
    CURLMcode mc = curl_multi_add_handle(multi, easy);
    if (mc != CURLM_OK) {
      log.error("curl_multi_add_handle: {}", curl_multi_strerror(mc));
      return done(CURLE_FAILED_INIT);
    }
    transfers.emplace(easy, std::move(done));
    settle();  // curl asked for a timeout "now" to start it
  }

  void remove(CURL* easy) {
    auto it = transfers.find(easy);
    if (it == transfers.end()) return;
    curl_multi_remove_handle(multi, easy);
    Done dropped = std::move(it->second);  // may own `easy`: released after the erase
    transfers.erase(it);
    if (due_now && !closed) arm_now();  // not from inside a caller's remove(): the timer runs it
  }

  // Removes every transfer (completing it as aborted), cleans up the multi, stops watching.
  void close_all() {
    if (closed) return;
    closed = true;
    auto pending = std::move(transfers);
    transfers.clear();
    for (auto& [easy, done] : pending) {
      curl_multi_remove_handle(multi, easy);
      done(CURLE_ABORTED_BY_CALLBACK);
    }
    pending.clear();
    curl_multi_cleanup(multi);
    multi = nullptr;
    timer.cancel();
    for (auto& [fd, w] : watches) {
      w->alive = false;
      w->sd.release();
    }
    watches.clear();
  }

  ~Impl() {
    for (CURL* e : pool) curl_easy_cleanup(e);
  }

  spdlog::logger& log;
  boost::asio::io_context& io;
  std::mutex pool_mu;
  std::vector<CURL*> pool;  // reset easy handles (take_easy / give_back)
  Strand strand;
  boost::asio::steady_timer timer;
  CURLM* multi = nullptr;
  bool closed = false;
  bool due_now = false;  // curl asked for CURL_SOCKET_TIMEOUT "now" (on_timer with 0)
  std::unordered_map<curl_socket_t, std::shared_ptr<Watch>> watches;
  std::unordered_map<CURL*, Done> transfers;
};

void CurlMulti::global_init(spdlog::logger& log) {
  // curl_global_init is only thread-safe when libcurl says so (CURL_VERSION_THREADSAFE,
  // 7.84+); call_once makes our own calls safe either way. We never call curl_global_cleanup:
  // it is not thread-safe, and the host (or another library in the same process) may be using
  // libcurl right now — tearing down its TLS backend under it would crash the host. The cost is
  // libcurl staying initialised until the process exits, which is what it is designed for.
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] {
    rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    pin_libcurl();
  });
  if (rc != CURLE_OK) throw std::runtime_error(std::string("curl_global_init: ") + curl_easy_strerror(rc));
  static std::once_flag warn_once;
  std::call_once(warn_once, [&log] {
    if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_THREADSAFE))
      log.warn("libcurl {} has no thread-safe global init: initialise lifehook before starting threads that use curl",
               curl_version());
  });
}

CurlMulti::CurlMulti(boost::asio::io_context& io, spdlog::logger& log) {
  global_init(log);
  impl_ = std::make_shared<Impl>(io, log);
}

CurlMulti::~CurlMulti() {
  // Normally shutdown() ran on the strand already. If not (a context that failed to start),
  // no loop thread runs any more and the clean-up may happen right here.
  if (impl_ && !impl_->closed) impl_->close_all();
}

void CurlMulti::shutdown() {
  auto impl = impl_;
  if (impl->strand.running_in_this_thread()) return impl->close_all();
  std::promise<void> done;
  auto finished = done.get_future();
  boost::asio::post(impl->strand, [impl, &done] {
    impl->close_all();
    done.set_value();
  });
  finished.wait();
}

void CurlMulti::add(CURL* easy, Done done) {
  // defer: from a loop thread (a handler starting) the multi's work continues on that thread
  // after the caller's handler, instead of waking another loop thread for it; from any other
  // thread it is an ordinary post.
  boost::asio::defer(impl_->strand,
                     [impl = impl_, easy, done = std::move(done)]() mutable { impl->add(easy, std::move(done)); });
}

void CurlMulti::remove(CURL* easy, std::function<void()> removed) {
  boost::asio::post(impl_->strand, [impl = impl_, easy, removed = std::move(removed)] {
    impl->remove(easy);
    removed();
  });
}

CURL* CurlMulti::take_easy() {
  {
    std::lock_guard<std::mutex> lock(impl_->pool_mu);
    if (!impl_->pool.empty()) {
      CURL* e = impl_->pool.back();
      impl_->pool.pop_back();
      return e;
    }
  }
  return curl_easy_init();
}

void CurlMulti::give_back(CURL* easy) {
  if (!easy) return;
  curl_easy_reset(easy);
  // The reset cleared NOSIGNAL too: without it curl_easy_cleanup (here or in ~Impl) would switch
  // the process's SIGPIPE disposition to SIG_IGN and back around the clean-up, under the host's
  // threads.
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  {
    std::lock_guard<std::mutex> lock(impl_->pool_mu);
    if (impl_->pool.size() < kEasyPool) {
      try {
        impl_->pool.push_back(easy);
        return;
      } catch (const std::bad_alloc&) {
      }
    }
  }
  curl_easy_cleanup(easy);
}

void CurlMulti::configure_sockets(CURL* easy, SocketNamespace* where) {
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &open_socket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, where);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &close_socket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, &impl_->io);
  // libcurl 7.88's threaded resolver is JOINED when a transfer still resolving is removed
  // (Curl_resolver_kill): a name server that never answers held the strand — every httpGet of
  // the context — until getaddrinfo gave up (8 s for a 500 ms timeout). With QUICK_EXIT the
  // resolver thread is detached instead and frees itself when getaddrinfo returns (curl 7.87+);
  // libcurl is pinned in memory for it (pin_libcurl). No c-ares build needed: see DESIGN.md.
  curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L);
}

}  // namespace lifehook
