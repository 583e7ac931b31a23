#include "name_lookup.hpp"

#include <netdb.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <mutex>

namespace lifehook {

// One getaddrinfo_a request: libc writes into `cb` (and reads `host`/`service`) until
// gai_error() stops saying EAI_INPROGRESS, so it must stay put until then.
struct NameLookup::Request {
  Request(std::string h, std::string s) : host(std::move(h)), service(std::move(s)) {
    std::memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;  // as Asio's resolver did
    std::memset(&cb, 0, sizeof cb);
    cb.ar_name = host.c_str();
    cb.ar_service = service.c_str();
    cb.ar_request = &hints;
  }
  std::string host;
  std::string service;
  addrinfo hints;
  gaicb cb;
  bool submitted = false;
};

namespace {

// Requests libc may still be working on after their owner gave up. Reaped whenever a new
// lookup starts; what is left at exit is reachable from here (not a leak).
std::mutex g_abandoned_mu;
std::vector<NameLookup::Request*> g_abandoned;

void release(NameLookup::Request* r) {
  if (r->cb.ar_result) freeaddrinfo(r->cb.ar_result);
  r->cb.ar_result = nullptr;
  delete r;
}

void reap_abandoned() {
  std::lock_guard<std::mutex> lock(g_abandoned_mu);
  g_abandoned.erase(std::remove_if(g_abandoned.begin(), g_abandoned.end(),
                                   [](NameLookup::Request* r) {
                                     if (gai_error(&r->cb) == EAI_INPROGRESS) return false;
                                     release(r);
                                     return true;
                                   }),
                    g_abandoned.end());
}

// Gives a request back: freed now when libc is done with it (or agrees to drop it), else parked.
void abandon(NameLookup::Request* r) {
  if (r->submitted && gai_cancel(&r->cb) == EAI_NOTCANCELED) {
    std::lock_guard<std::mutex> lock(g_abandoned_mu);
    try {
      g_abandoned.push_back(r);
      return;
    } catch (const std::bad_alloc&) {
      // Cannot park it: leak it rather than free memory libc still writes to.
      return;
    }
  }
  release(r);
}

}  // namespace

// What the polling timer's handlers share with the NameLookup: they hold it strongly (the timer
// lives as long as a wait is pending), the NameLookup drops `request` and `done` to cancel.
struct NameLookup::State {
  explicit State(Strand& strand) : timer(strand) {}
  boost::asio::steady_timer timer;
  std::unique_ptr<Request, void (*)(Request*)> request{nullptr, &abandon};
  Done done;
};

namespace {

void poll(const std::shared_ptr<NameLookup::State>& state, std::chrono::milliseconds step) {
  state->timer.expires_after(step);
  state->timer.async_wait([state, step](const boost::system::error_code& ec) {
    if (ec || !state->request) return;  // canceled
    NameLookup::Request* r = state->request.get();
    int rc = gai_error(&r->cb);
    if (rc == EAI_INPROGRESS) return poll(state, std::min(step * 2, std::chrono::milliseconds(10)));
    std::vector<boost::asio::ip::tcp::endpoint> eps;
    std::string error;
    if (rc != 0) {
      error = gai_strerror(rc);
    } else {
      for (addrinfo* a = r->cb.ar_result; a; a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
        boost::asio::ip::tcp::endpoint ep;
        if (a->ai_addrlen > ep.capacity()) continue;
        std::memcpy(ep.data(), a->ai_addr, a->ai_addrlen);
        ep.resize(a->ai_addrlen);
        eps.push_back(ep);
      }
    }
    auto done = std::move(state->done);
    state->done = nullptr;
    state->request.reset();
    if (done) done(std::move(eps), std::move(error));
  });
}

}  // namespace

NameLookup::NameLookup(Strand strand, std::string host, int port)
    : strand_(std::move(strand)), host_(std::move(host)), port_(port) {}

NameLookup::~NameLookup() { cancel(); }

void NameLookup::start(Done done) {
  reap_abandoned();
  cancel();
  state_ = std::make_shared<State>(strand_);
  state_->done = std::move(done);
  state_->request.reset(new Request(host_, std::to_string(port_)));
  gaicb* list[] = {&state_->request->cb};
  int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr);
  if (rc != 0) {
    auto done_now = std::move(state_->done);
    state_.reset();
    boost::asio::post(strand_, [done_now, rc] { done_now({}, gai_strerror(rc)); });
    return;
  }
  state_->request->submitted = true;
  poll(state_, std::chrono::milliseconds(1));
}

void NameLookup::cancel() {
  if (!state_) return;
  state_->done = nullptr;
  state_->request.reset();  // gai_cancel, or parked until libc lets go of it
  state_->timer.cancel();
  state_.reset();
}

}  // namespace lifehook
