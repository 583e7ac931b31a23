// Built by CMake through find_package(lifehook) and lifehook::lifehook: checks that the header and
// the linked library agree on the ABI, and runs a tcpSocket handler against its own listener.
#include <arpa/inet.h>
#include <lifehook/lifehook.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

int main() {
  uint32_t abi = lifehook_abi_version();
  if (abi >> 16 != LIFEHOOK_ABI_MAJOR) {
    std::printf("FAIL - library ABI %u.%u, header %d.%d\n", abi >> 16, abi & 0xffff, LIFEHOOK_ABI_MAJOR,
                LIFEHOOK_ABI_MINOR);
    return 1;
  }
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listener, 4) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("FAIL - listen on 127.0.0.1");
    return 1;
  }
  lifehook_ctx* ctx = nullptr;
  if (lifehook_ctx_new(nullptr, &ctx, nullptr) != LIFEHOOK_OK) return 1;
  std::string request = R"({"handler": {"tcpSocket": {"host": "127.0.0.1", "port": )" +
                        std::to_string(ntohs(addr.sin_port)) + R"(}}, "timeoutMs": 5000})";
  char* result = nullptr;
  char* error = nullptr;
  int rc = lifehook_run(ctx, request.c_str(), &result, &error);
  bool ok = rc == LIFEHOOK_OK && std::strstr(result, "\"outcome\":\"success\"");
  std::printf("%s - consumer-cmake: lifehook %s, tcpSocket 127.0.0.1:%d -> %s\n", ok ? "ok  " : "FAIL",
              lifehook_version(), ntohs(addr.sin_port), rc == LIFEHOOK_OK ? result : error);
  lifehook_free(result);
  lifehook_free(error);
  lifehook_ctx_free(ctx);
  close(listener);
  return ok ? 0 : 1;
}
