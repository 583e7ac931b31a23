// libcurl's multi interface driven by the context's Asio event loop (socket and timer
// callbacks): every httpGet of a context shares one multi handle, no thread per request.
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

namespace spdlog {
class logger;
}

namespace lifehook {

class CurlMulti {
 public:
  CurlMulti(boost::asio::io_context& io, spdlog::logger& log);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;
  // Stops every transfer and releases curl's resources; called by ~Context from a non-loop
  // thread while the loop still runs. Blocks until done.
  void shutdown();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace lifehook
