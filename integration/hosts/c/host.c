/* A C host as a container runtime would be one: it loads the library at run time with
   dlopen("liblifehook.so.1") — no link-time dependency — takes every function from lifehook_get_api(1),
   and runs an httpGet handler (against its own HTTP server on 127.0.0.1), exec handlers and a pod of
   two containers with the built-in process driver. Prints one line per check and
   "N passed, M failed"; exits non-zero on any failure.
   Build: cc -std=c99 host.c -o c-host -ldl -lpthread   (needs only <lifehook/lifehook.h>) */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <lifehook/lifehook.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int passed, failed;

static void check(int ok, const char* name, const char* fmt, ...) {
  if (ok) {
    passed++;
    printf("ok   - %s\n", name);
  } else {
    failed++;
    printf("FAIL - %s: ", name);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
  }
  fflush(stdout);
}

/* ---- a tiny HTTP/1.1 server on 127.0.0.1: "/healthz" answers 200, anything else 500 ---- */

struct http_server {
  int listen_fd;
  int port;
  int stop_pipe[2];
  int requests;
  pthread_t thread;
};

static void serve_one(struct http_server* s, int fd) {
  char buf[4096];
  size_t len = 0;
  struct pollfd p = {fd, POLLIN, 0};
  while (len < sizeof buf - 1 && poll(&p, 1, 5000) == 1) { /* read the request head */
    ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
    if (n <= 0) break;
    len += (size_t)n;
    buf[len] = '\0';
    if (strstr(buf, "\r\n\r\n")) break;
  }
  buf[len] = '\0';
  int healthy = strncmp(buf, "GET /healthz ", 13) == 0;
  const char* reply =
      healthy ? "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
              : "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfail\n";
  ssize_t ignored = write(fd, reply, strlen(reply));
  (void)ignored;
  s->requests++;
}

static void* http_server_main(void* arg) {
  struct http_server* s = arg;
  for (;;) {
    struct pollfd p[2] = {{s->listen_fd, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) break;
    if (p[1].revents) break;
    if (p[0].revents & POLLIN) {
      int fd = accept(s->listen_fd, NULL, NULL);
      if (fd >= 0) {
        serve_one(s, fd);
        close(fd);
      }
    }
  }
  return NULL;
}

static int http_server_start(struct http_server* s) {
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr*)&addr, sizeof addr) != 0 ||
      listen(s->listen_fd, 16) != 0 || getsockname(s->listen_fd, (struct sockaddr*)&addr, &alen) != 0 ||
      pipe(s->stop_pipe) != 0)
    return -1;
  s->port = ntohs(addr.sin_port);
  return pthread_create(&s->thread, NULL, http_server_main, s) == 0 ? 0 : -1;
}

static void http_server_stop(struct http_server* s) {
  ssize_t ignored = write(s->stop_pipe[1], "x", 1);
  (void)ignored;
  pthread_join(s->thread, NULL);
  close(s->listen_fd);
  close(s->stop_pipe[0]);
  close(s->stop_pipe[1]);
}

/* ---- handlers ---- */

static const struct lifehook_api* api;

/* Runs a request; returns the status and gives the result JSON (to free) in *result. */
static int run(lifehook_ctx* ctx, const char* request, char** result) {
  char* error = NULL;
  *result = NULL;
  int rc = api->run(ctx, request, result, &error);
  if (rc != LIFEHOOK_OK) {
    printf("     %s: %s\n", api->status_name(rc), error ? error : "(no message)");
    api->free_fn(error);
  }
  return rc;
}

static int has(const char* json, const char* needle) { return json && strstr(json, needle) != NULL; }

static void check_handlers(lifehook_ctx* ctx, int port) {
  char request[512];
  char* result;

  snprintf(request, sizeof request,
           "{\"handler\": {\"httpGet\": {\"host\": \"127.0.0.1\", \"port\": %d, \"path\": \"/healthz\"}},"
           " \"timeoutMs\": 5000, \"purpose\": \"postStart\"}",
           port);
  int rc = run(ctx, request, &result);
  check(rc == LIFEHOOK_OK && has(result, "\"outcome\":\"success\"") && has(result, "\"httpStatus\":200"),
        "httpGet 200 succeeds", "status %d, result %s", rc, result ? result : "(none)");
  api->free_fn(result);

  snprintf(request, sizeof request,
           "{\"handler\": {\"httpGet\": {\"host\": \"127.0.0.1\", \"port\": %d, \"path\": \"/broken\"}},"
           " \"timeoutMs\": 5000}",
           port);
  rc = run(ctx, request, &result);
  check(rc == LIFEHOOK_OK && has(result, "\"outcome\":\"failure\"") && has(result, "\"httpStatus\":500"),
        "httpGet 500 fails", "status %d, result %s", rc, result ? result : "(none)");
  api->free_fn(result);

  rc = run(ctx,
           "{\"handler\": {\"exec\": {\"command\": [\"/bin/sh\", \"-c\", \"echo hello-from-exec\"]}},"
           " \"timeoutMs\": 5000}",
           &result);
  check(rc == LIFEHOOK_OK && has(result, "\"outcome\":\"success\"") && has(result, "hello-from-exec") &&
            has(result, "\"exitCode\":0"),
        "exec succeeds with its output", "status %d, result %s", rc, result ? result : "(none)");
  api->free_fn(result);

  rc = run(ctx, "{\"handler\": {\"exec\": {\"command\": [\"/bin/sh\", \"-c\", \"exit 3\"]}}, \"timeoutMs\": 5000}",
           &result);
  check(rc == LIFEHOOK_OK && has(result, "\"outcome\":\"failure\"") && has(result, "\"exitCode\":3"),
        "exec exit 3 fails with exitCode 3", "status %d, result %s", rc, result ? result : "(none)");
  api->free_fn(result);

  char* error = NULL;
  result = NULL;
  rc = api->run(ctx, "{\"handler\": {\"httpGet\": {\"port\": 0}}}", &result, &error);
  check(rc == LIFEHOOK_E_INVALID && result == NULL && has(error, "port"),
        "an invalid request is refused naming the field", "status %d, error %s", rc, error ? error : "(none)");
  api->free_fn(error);
}

/* ---- a pod of two containers, with the built-in process driver ---- */

static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static int events_seen;
static int started_events;

static void on_event(void* user, const char* event_json) {
  (void)user;
  pthread_mutex_lock(&events_lock);
  events_seen++;
  if (strstr(event_json, "\"reason\":\"Started\"")) started_events++;
  pthread_mutex_unlock(&events_lock);
}

static void check_pod(lifehook_ctx* ctx) {
  static const char pod_json[] =
      "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"c-host-pod\"},"
      " \"spec\": {\"restartPolicy\": \"Never\", \"terminationGracePeriodSeconds\": 2, \"containers\": ["
      "  {\"name\": \"first\", \"command\": [\"/bin/sh\", \"-c\", \"sleep 0.2; exit 0\"]},"
      "  {\"name\": \"second\", \"command\": [\"/bin/sh\", \"-c\", \"sleep 0.3; exit 0\"]}]}}";
  lifehook_pod* pod = NULL;
  char* error = NULL;
  int rc = api->pod_create(ctx, pod_json, "{\"driver\": \"process\"}", NULL, &pod, &error);
  check(rc == LIFEHOOK_OK && pod, "pod created", "%s: %s", api->status_name(rc), error ? error : "");
  api->free_fn(error);
  if (!pod) return;
  rc = api->pod_watch(pod, on_event, NULL);
  check(rc == LIFEHOOK_OK, "pod watched", "%s", api->status_name(rc));
  rc = api->pod_start(pod);
  check(rc == LIFEHOOK_OK, "pod started", "%s", api->status_name(rc));
  rc = api->pod_wait(pod, 20000);
  check(rc == LIFEHOOK_OK, "pod finished within 20 s", "%s", api->status_name(rc));
  char* status = NULL;
  rc = api->pod_status(pod, &status);
  check(rc == LIFEHOOK_OK && has(status, "\"phase\":\"Succeeded\""), "both containers ran: phase Succeeded", "%s %s",
        api->status_name(rc), status ? status : "(none)");
  api->free_fn(status);
  api->pod_destroy(pod);
  pthread_mutex_lock(&events_lock);
  check(started_events == 2, "one Started event per container", "%d Started events of %d", started_events, events_seen);
  pthread_mutex_unlock(&events_lock);
}

int main(void) {
  void* lib = dlopen("liblifehook.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    printf("FAIL - dlopen(\"liblifehook.so.1\"): %s\n", dlerror());
    return 1;
  }
  const struct lifehook_api* (*get_api)(uint32_t);
  *(void**)(&get_api) = dlsym(lib, "lifehook_get_api"); /* POSIX-blessed object-to-function cast */
  api = get_api ? get_api(1) : NULL;
  check(api != NULL, "lifehook_get_api(1)", "%s", get_api ? "returned NULL" : dlerror());
  if (!api) return 1;
  check(api->struct_size >= sizeof(struct lifehook_api), "table has every member this host knows",
        "struct_size %u < %zu", api->struct_size, sizeof(struct lifehook_api));
  check(api->abi_version >> 16 == LIFEHOOK_ABI_MAJOR && api->abi_version_fn() == api->abi_version, "ABI major 1",
        "abi_version 0x%x", api->abi_version);
  check(get_api(2) == NULL, "an unknown ABI major is refused", "lifehook_get_api(2) returned a table");
  printf("     liblifehook %s, ABI %u.%u\n", api->version(), api->abi_version >> 16, api->abi_version & 0xffff);

  struct http_server server;
  memset(&server, 0, sizeof server);
  if (http_server_start(&server) != 0) {
    printf("FAIL - HTTP server on 127.0.0.1: %s\n", strerror(errno));
    return 1;
  }
  lifehook_ctx* ctx = NULL;
  char* error = NULL;
  int rc = api->ctx_new("{\"threads\": 2}", &ctx, &error);
  check(rc == LIFEHOOK_OK, "context created", "%s: %s", api->status_name(rc), error ? error : "");
  api->free_fn(error);
  if (ctx) {
    check_handlers(ctx, server.port);
    check_pod(ctx);
    api->ctx_free(ctx);
  }
  http_server_stop(&server);
  check(dlclose(lib) == 0, "dlclose", "%s", dlerror());
  printf("c-host: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
