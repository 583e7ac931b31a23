// Host name resolution for the tcpSocket handler that never blocks a loop thread, never makes one
// lookup wait behind another, and never makes lifehook_ctx_free wait for a name server.
//
// Asio's resolver runs getaddrinfo on ONE private thread per io_context: a silent name server
// made every other lookup of the context queue behind it, and freeing the context joined that
// thread (up to resolv.conf's timeout × attempts). Here glibc's getaddrinfo_a runs each lookup
// on a helper thread of libc's own (libc code only, never ours — nothing of ours to unload at
// dlclose) with no notification; the strand polls its state with a timer (1 ms, doubling to
// 10 ms). A lookup given up (timeout, cancel, context freed) is gai_cancel()ed; one libc cannot
// cancel any more keeps its few hundred bytes in a process-wide list until libc is done with it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lifehook {

class NameLookup {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  // On the strand, once: the addresses, or an empty list and getaddrinfo's message.
  using Done = std::function<void(std::vector<boost::asio::ip::tcp::endpoint>, std::string error)>;

  NameLookup(Strand strand, std::string host, int port);
  ~NameLookup();  // cancels (no callback afterwards)
  NameLookup(const NameLookup&) = delete;
  NameLookup& operator=(const NameLookup&) = delete;

  // Starts the lookup; `done` runs on the strand unless cancel() (on the strand) came first.
  void start(Done done);
  void cancel();

  struct Request;
  struct State;

 private:
  Strand strand_;
  std::string host_;
  int port_;
  std::shared_ptr<State> state_;
};

}  // namespace lifehook
