// A real gRPC health server for the grpc handler's tests: grpc_health_server.py (next to this file) on
// Debian's python3-grpcio, started as a child on 127.0.0.1 (of the network namespace of the
// thread that starts it) with a kernel-chosen port, killed and reaped by the destructor. The
// script says which service names give which answer.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

extern char** environ;

#ifndef LIFEHOOK_TEST_SERVERS  // the directory of this file, from the test target's CMakeLists.txt
#error "LIFEHOOK_TEST_SERVERS must name tests/servers"
#endif

namespace lifehook::test {

class GrpcHealthServer {
 public:
  struct Options {
    bool no_health = false;  // no service registered: every call is UNIMPLEMENTED
    bool log = false;        // record each call's metadata (calls())
  };

  GrpcHealthServer() : GrpcHealthServer(Options{}) {}
  explicit GrpcHealthServer(Options options) {
    std::string script = std::string(LIFEHOOK_TEST_SERVERS) + "/grpc_health_server.py";
    std::vector<std::string> args = {"/usr/bin/python3", script};
    if (options.no_health) args.push_back("--no-health");
    if (options.log) {
      char tmpl[] = "/tmp/lifehook-grpc-log-XXXXXX";
      int fd = mkstemp(tmpl);
      if (fd >= 0) ::close(fd);
      log_ = tmpl;
      args.push_back("--log");
      args.push_back(log_);
    }
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
      why_ = "pipe failed";
      return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      pid_ = -1;
      why_ = "cannot start /usr/bin/python3";
      return;
    }
    std::string line;
    char c;
    pollfd p{out[0], POLLIN, 0};
    while (::poll(&p, 1, 20000) > 0 && ::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(out[0]);
    port_ = std::atoi(line.c_str());
    if (port_ <= 0) why_ = "the gRPC server did not start (python3-grpcio missing? run packaging/install-deps)";
  }

  ~GrpcHealthServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!log_.empty()) std::filesystem::remove(log_);
  }
  GrpcHealthServer(const GrpcHealthServer&) = delete;
  GrpcHealthServer& operator=(const GrpcHealthServer&) = delete;

  // Empty when the server serves; else why not.
  const std::string& error() const { return why_; }
  int port() const { return port_; }

  // With Options::log: one object per call so far, {service, metadata: {name: value}, timeRemaining}.
  std::vector<nlohmann::json> calls() const {
    std::vector<nlohmann::json> v;
    std::ifstream in(log_);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) v.push_back(nlohmann::json::parse(line));
    return v;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_;
  std::string why_;
};

}  // namespace lifehook::test
