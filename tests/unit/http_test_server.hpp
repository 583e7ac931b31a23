// Real servers for the httpGet tests, on loopback addresses only:
// - TestHttpServer: a small threaded HTTP/1.1 server (one thread per connection) whose answers
//   are scripted per request — status, headers, body, a delay before answering, a body that
//   never ends — and that records every request and whether the client hung up early.
// - TestHttpsServer: Python's http.server wrapped in real TLS with a self-signed certificate
//   made by the openssl CLI at test time.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace lifehook::test {

struct RecordedRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::string raw;     // the whole head as received
  std::vector<std::pair<std::string, std::string>> headers;
  bool parsed = false;  // false: not HTTP (e.g. a TLS ClientHello)

  // All values of a header (case-insensitive name), in order.
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> v;
    for (const auto& [n, val] : headers)
      if (strcasecmp(n.c_str(), name.c_str()) == 0) v.push_back(val);
    return v;
  }
  bool has(const std::string& name) const { return !all(name).empty(); }
  std::string get(const std::string& name) const {
    auto v = all(name);
    return v.empty() ? std::string() : v.front();
  }
};

struct ScriptedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body = "ok";
  int delay_ms = 0;      // wait before sending anything (ends early when the client hangs up)
  bool endless = false;  // stream body bytes until the client goes away
};

class TestHttpServer {
 public:
  using Script = std::function<ScriptedResponse(const RecordedRequest&)>;

  explicit TestHttpServer(Script script, const std::string& address = "127.0.0.1") : script_(std::move(script)) {
    bool v6 = address.find(':') != std::string::npos;
    listen_fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error("socket");
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      inet_pton(AF_INET6, address.c_str(), &a->sin6_addr);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      inet_pton(AF_INET, address.c_str(), &a->sin_addr);
      len = sizeof *a;
    }
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(listen_fd_, 1024) != 0) {
      ::close(listen_fd_);
      throw std::runtime_error("cannot listen on " + address);
    }
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~TestHttpServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait(lock, [this] { return active_ == 0; });
    ::close(stop_fd_);
  }

  int port() const { return port_; }
  std::vector<RecordedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  size_t request_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }
  // Connections whose client closed before the response was complete (timeout, cancel, cap).
  int hangups() const { return hangups_.load(); }
  // Waits until `n` hang-ups were seen or `ms` passed.
  bool wait_hangups(int n, int ms) const {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (hangups_.load() < n && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return hangups_.load() >= n;
  }

 private:
  void accept_loop() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // shut down
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      ++active_;
      std::thread([this, fd] {
        serve(fd);
        ::close(fd);
        std::lock_guard<std::mutex> lock(mu_);
        if (--active_ == 0) wake_.notify_all();
      }).detach();
    }
  }

  bool stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

  // True when the peer closed (or reset) the connection.
  static bool peer_gone(int fd) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
    char c;
    return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  }

  bool send_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  void serve(int fd) {
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
      if (head.size() >= 3 && static_cast<unsigned char>(head[0]) == 0x16) break;  // a TLS ClientHello
    }
    if (head.empty()) return;
    RecordedRequest req = parse(head);
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(req);
    }
    if (!req.parsed) {  // what a plain HTTP server says to a TLS client
      send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    ScriptedResponse r = script_(req);
    if (r.delay_ms > 0) {
      // Sleep in poll(): wakes up when the client hangs up or the server stops, nothing else.
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(r.delay_ms);
      for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p[2] = {{fd, POLLRDHUP, 0}, {stop_fd_, POLLIN, 0}};
        if (::poll(p, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) return;
        if (p[1].revents) return;
        if (p[0].revents && peer_gone(fd)) {
          ++hangups_;
          return;
        }
      }
    }
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " Scripted\r\n";
    for (const auto& [n, v] : r.headers) out += n + ": " + v + "\r\n";
    if (!r.endless) out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    out += "Connection: close\r\n\r\n";
    if (!r.endless) {
      out += r.body;
      send_all(fd, out);
      ::shutdown(fd, SHUT_WR);
      // Let the client close first (then the TIME_WAIT is the client's, as with a real pod).
      while (::recv(fd, buf, sizeof buf, 0) > 0) {
      }
      return;
    }
    if (!send_all(fd, out)) return;
    std::string chunk(4096, 'x');
    while (!stopping()) {
      if (!send_all(fd, chunk)) {
        ++hangups_;
        return;
      }
    }
  }

  static RecordedRequest parse(const std::string& head) {
    RecordedRequest r;
    r.raw = head;
    size_t eol = head.find("\r\n");
    if (eol == std::string::npos) return r;
    std::string line = head.substr(0, eol);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1 || line.compare(sp2 + 1, 5, "HTTP/") != 0) return r;
    r.method = line.substr(0, sp1);
    r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = eol + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos || e == pos) break;
      std::string h = head.substr(pos, e - pos);
      size_t colon = h.find(':');
      if (colon != std::string::npos) {
        std::string v = h.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        r.headers.emplace_back(h.substr(0, colon), v);
      }
      pos = e + 2;
    }
    r.parsed = true;
    return r;
  }

  Script script_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // readable once the server stops
  int port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int active_ = 0;
  std::vector<RecordedRequest> requests_;
  std::atomic<int> hangups_{0};
};

// python3's http.server behind real TLS (ssl module), certificate from the openssl CLI.
// Answers GET <path> with 200 and the body "secure <path>". available() is false (and why()
// says why) when python3 or openssl is missing.
class TestHttpsServer {
 public:
  TestHttpsServer() {
    char tmpl[] = "/tmp/lifehook-https-XXXXXX";
    if (!mkdtemp(tmpl)) {
      fail("mkdtemp failed");
      return;
    }
    dir_ = tmpl;
    std::string cert = dir_ + "/cert.pem", key = dir_ + "/key.pem", script = dir_ + "/server.py";
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost"
        " -keyout " +
        key + " -out " + cert + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      fail("openssl could not make a certificate");
      return;
    }
    FILE* f = std::fopen(script.c_str(), "w");
    if (!f) {
      fail("cannot write the server script");
      return;
    }
    std::fputs(kServer, f);
    std::fclose(f);
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      fail("pipe failed");
      return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    std::string python = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    const char* argv[] = {python.c_str(), script.c_str(), cert.c_str(), key.c_str(), nullptr};
    int rc = posix_spawnp(&pid_, python.c_str(), &fa, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      pid_ = -1;
      fail("cannot start python3");
      return;
    }
    std::string line;
    char c;
    pollfd p{out[0], POLLIN, 0};
    while (::poll(&p, 1, 10000) > 0 && ::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    port_ = std::atoi(line.c_str());
    if (port_ <= 0) fail("the python3 TLS server did not start");
  }

  ~TestHttpsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  bool available() const { return why_.empty(); }
  const std::string& why() const { return why_; }
  int port() const { return port_; }

 private:
  void fail(std::string why) {
    if (why_.empty()) why_ = std::move(why);
  }

  static constexpr const char* kServer = R"PY(
import http.server, ssl, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("secure " + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
)PY";

  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string why_;
};

}  // namespace lifehook::test
