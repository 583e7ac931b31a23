/* An independent host in plain C99: it knows only the public header and loads the library at run
 * time by path, as a container runtime or node agent would. It runs every handler against
 * servers it starts itself on 127.0.0.1, checks the outcomes, frees the context, unloads the
 * library and checks that no thread or descriptor was left behind.
 *
 * Usage: lifehook_dlopen_host /path/to/liblifehook.so.1
 * Exit status 0 when every check passed; each failure is printed as "FAIL: ...". */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "host_check.h"
#include "lifehook/lifehook.h"

static const struct lifehook_api* api = NULL;

static int count_entries(const char* path) {
  int n = 0;
  DIR* d = opendir(path);
  struct dirent* e;
  if (!d) return -1;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The process's signal dispositions: a guest library must install no handler of its own (a Go
   host aborts on a foreign handler without SA_ONSTACK; a host reaping via SIGCHLD loses children). */
#define MAX_SIGNAL 65
static void snapshot_signals(void (*out[MAX_SIGNAL])(int), int flags[MAX_SIGNAL]) {
  int sig;
  for (sig = 1; sig < MAX_SIGNAL; ++sig) {
    struct sigaction sa;
    out[sig] = NULL;
    flags[sig] = 0;
    if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) != 0) continue;
    out[sig] = sa.sa_handler;
    flags[sig] = sa.sa_flags;
  }
}

static void compare_signals(const char* when, void (*before[MAX_SIGNAL])(int), int before_flags[MAX_SIGNAL]) {
  void (*now[MAX_SIGNAL])(int);
  int now_flags[MAX_SIGNAL], sig;
  snapshot_signals(now, now_flags);
  for (sig = 1; sig < MAX_SIGNAL; ++sig)
    CHECK(now[sig] == before[sig] && now_flags[sig] == before_flags[sig], "signal %d disposition changed %s", sig,
          when);
}

/* ---- servers on 127.0.0.1 ------------------------------------------------------------------ */

static int listen_loopback(int* port) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, (struct sockaddr*)&a, &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

/* A tiny HTTP/1.1 responder, one connection at a time: GET /fail answers 500, anything else 200.
   It stops after serving `remaining` requests. */
struct responder {
  int fd;
  int remaining;
  int served;
};

static void* respond_loop(void* arg) {
  struct responder* r = (struct responder*)arg;
  while (r->remaining-- > 0) {
    char buf[4096];
    size_t got = 0;
    const char* reply;
    int c = accept(r->fd, NULL, NULL);
    if (c < 0) break;
    while (got < sizeof buf - 1) { /* read up to the end of the headers */
      ssize_t n = read(c, buf + got, sizeof buf - 1 - got);
      if (n <= 0) break;
      got += (size_t)n;
      buf[got] = '\0';
      if (strstr(buf, "\r\n\r\n")) break;
    }
    buf[got] = '\0';
    if (strncmp(buf, "GET /fail ", 10) == 0)
      reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\nfail";
    else
      reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    if (write(c, reply, strlen(reply)) < 0) perror("responder write");
    close(c);
    r->served++;
  }
  return NULL;
}

/* ---- calls through the table ------------------------------------------------------------------ */

/* Runs one request; returns the result JSON (caller frees with api->free_fn) or NULL. */
static char* run(lifehook_ctx* ctx, const char* request) {
  char *result = NULL, *error = NULL;
  int rc = api->run(ctx, request, &result, &error);
  CHECK(rc == LIFEHOOK_OK, "run %s: %s: %s", request, api->status_name(rc), error ? error : "");
  api->free_fn(error);
  return result;
}

static void expect(lifehook_ctx* ctx, const char* request, const char* want1, const char* want2) {
  char* result = run(ctx, request);
  printf("%s\n  -> %s\n", request, result ? result : "(none)");
  CHECK(result && strstr(result, want1), "%s: result lacks %s", request, want1);
  CHECK(!want2 || (result && strstr(result, want2)), "%s: result lacks %s", request, want2);
  api->free_fn(result);
}

struct done_state {
  pthread_mutex_t mu;
  int calls;
  char outcome[64];
};

static void on_done(void* user, uint64_t op, const char* result_json) {
  struct done_state* s = (struct done_state*)user;
  const char* o = strstr(result_json, "\"outcome\":\"");
  (void)op;
  pthread_mutex_lock(&s->mu);
  s->calls++;
  if (o) {
    size_t n = strcspn(o + 11, "\"");
    if (n >= sizeof s->outcome) n = sizeof s->outcome - 1;
    memcpy(s->outcome, o + 11, n);
    s->outcome[n] = '\0';
  }
  pthread_mutex_unlock(&s->mu);
}

int main(int argc, char** argv) {
  void *lib, *sym;
  const struct lifehook_api* (*get_api)(uint32_t);
  lifehook_ctx* ctx = NULL;
  char* error = NULL;
  char req[512];
  int threads_before, fds_before, tcp_port = 0, http_port = 0, closed_port = 0, tcp_fd, http_fd, rc;
  struct responder responder;
  pthread_t responder_thread;
  struct done_state done;
  uint64_t op = 0;
  double t0;
  const struct timespec settle = {0, 10 * 1000 * 1000};
  void (*signals_before[MAX_SIGNAL])(int);
  int signal_flags_before[MAX_SIGNAL];

  if (argc != 2) {
    fprintf(stderr, "usage: %s /path/to/liblifehook.so.1\n", argv[0]);
    return 2;
  }
  /* Servers first: what the library leaves behind is measured against this baseline. */
  tcp_fd = listen_loopback(&tcp_port);
  http_fd = listen_loopback(&http_port);
  {
    int probe = listen_loopback(&closed_port); /* a port where nothing listens any more */
    close(probe);
  }
  CHECK(tcp_fd >= 0 && http_fd >= 0, "cannot listen on 127.0.0.1");
  pthread_mutex_init(&done.mu, NULL);
  done.calls = 0;
  done.outcome[0] = '\0';
  threads_before = count_entries("/proc/self/task");
  fds_before = count_entries("/proc/self/fd");
  snapshot_signals(signals_before, signal_flags_before);
  responder.fd = http_fd;
  responder.remaining = 2;
  responder.served = 0;
  pthread_create(&responder_thread, NULL, respond_loop, &responder);

  lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "FAIL: dlopen %s: %s\n", argv[1], dlerror());
    return 1;
  }
  sym = dlsym(lib, "lifehook_get_api");
  if (!sym) {
    fprintf(stderr, "FAIL: dlsym lifehook_get_api: %s\n", dlerror());
    return 1;
  }
  memcpy(&get_api, &sym, sizeof get_api); /* object to function pointer, without a cast ISO C lacks */
  CHECK(get_api(2) == NULL, "get_api(2) must be NULL");
  CHECK(get_api(0) == NULL, "get_api(0) must be NULL");
  api = get_api(1);
  if (!api) {
    fprintf(stderr, "FAIL: lifehook_get_api(1) returned NULL\n");
    return 1;
  }
  CHECK(api->struct_size >= sizeof(struct lifehook_api), "struct_size %u < %u", (unsigned)api->struct_size,
        (unsigned)sizeof(struct lifehook_api));
  CHECK(api->abi_version >> 16 == LIFEHOOK_ABI_MAJOR, "abi major %u", (unsigned)(api->abi_version >> 16));
  CHECK(api->abi_version_fn() == api->abi_version, "abi_version_fn disagrees with the table");
  CHECK(strcmp(api->version(), LIFEHOOK_VERSION_STRING) == 0, "version %s", api->version());
  CHECK(strcmp(api->status_name(LIFEHOOK_E_NOT_FOUND), "LIFEHOOK_E_NOT_FOUND") == 0, "status_name");
  printf("loaded %s: version %s, abi 0x%05x, table %u bytes\n", argv[1], api->version(), (unsigned)api->abi_version,
         (unsigned)api->struct_size);

  rc = api->ctx_new(NULL, &ctx, &error);
  if (rc != LIFEHOOK_OK) {
    fprintf(stderr, "FAIL: ctx_new: %s: %s\n", api->status_name(rc), error ? error : "");
    return 1;
  }

  /* sleep */
  expect(ctx, "{\"handler\":{\"sleep\":{\"seconds\":0.05}}}", "\"outcome\":\"success\"", NULL);
  t0 = now_ms();
  expect(ctx, "{\"handler\":{\"sleep\":{\"seconds\":10}},\"timeoutMs\":200}", "\"outcome\":\"timeout\"", NULL);
  printf("  timeout after %.1f ms wall\n", now_ms() - t0);
  CHECK(now_ms() - t0 < 200 + 300, "the 200 ms timeout took %.1f ms", now_ms() - t0);

  /* tcpSocket */
  snprintf(req, sizeof req, "{\"handler\":{\"tcpSocket\":{\"host\":\"127.0.0.1\",\"port\":%d}}}", tcp_port);
  expect(ctx, req, "\"outcome\":\"success\"", NULL);
  snprintf(req, sizeof req, "{\"handler\":{\"tcpSocket\":{\"port\":%d}},\"target\":{\"podIP\":\"127.0.0.1\"}}",
           closed_port);
  expect(ctx, req, "\"outcome\":\"failure\"", NULL);

  /* exec, on the host */
  expect(ctx, "{\"handler\":{\"exec\":{\"command\":[\"/bin/true\"]}},\"timeoutMs\":5000}", "\"outcome\":\"success\"",
         "\"exitCode\":0");
  expect(ctx, "{\"handler\":{\"exec\":{\"command\":[\"/bin/false\"]}},\"timeoutMs\":5000}", "\"outcome\":\"failure\"",
         "\"exitCode\":1");

  /* httpGet against the responder */
  snprintf(req, sizeof req,
           "{\"handler\":{\"httpGet\":{\"port\":\"http\",\"path\":\"/healthz\"}},\"timeoutMs\":5000,"
           "\"target\":{\"podIP\":\"127.0.0.1\",\"ports\":[{\"name\":\"http\",\"containerPort\":%d}]}}",
           http_port);
  expect(ctx, req, "\"outcome\":\"success\"", "\"httpStatus\":200");
  snprintf(req, sizeof req,
           "{\"handler\":{\"httpGet\":{\"host\":\"127.0.0.1\",\"port\":%d,\"path\":\"/fail\"}},\"timeoutMs\":5000}",
           http_port);
  expect(ctx, req, "\"outcome\":\"failure\"", "\"httpStatus\":500");

  /* invalid request: a status and a message naming the field, freed with the library's free */
  rc = api->run(ctx, "{\"handler\":{\"tcpSocket\":{\"host\":\"127.0.0.1\",\"port\":70000}}}", NULL, &error);
  CHECK(rc == LIFEHOOK_E_INVALID, "port 70000: %s", api->status_name(rc));
  CHECK(error && strstr(error, "handler.tcpSocket.port"), "port 70000 message: %s", error ? error : "(null)");
  printf("invalid request -> %s: %s\n", api->status_name(rc), error ? error : "");
  api->free_fn(error);
  error = NULL;

  /* a live update through the table (ABI 1.1): one the pod can take, one it refuses by field path */
  {
    lifehook_pod* pod = NULL;
    const char* one =
        "{\"metadata\":{\"name\":\"upd\"},\"spec\":{\"containers\":[{\"name\":\"a\","
        "\"command\":[\"sleep\",\"1\"]}]}}";
    const char* changed =
        "{\"metadata\":{\"name\":\"upd\"},\"spec\":{\"containers\":[{\"name\":\"a\","
        "\"command\":[\"sleep\",\"2\"]}]}}";
    const char* two =
        "{\"metadata\":{\"name\":\"upd\"},\"spec\":{\"containers\":[{\"name\":\"a\","
        "\"command\":[\"sleep\",\"1\"]},{\"name\":\"b\",\"command\":[\"sleep\",\"1\"]}]}}";
    CHECK(api->struct_size >= offsetof(struct lifehook_api, pod_update) + sizeof api->pod_update, "no pod_update");
    rc = api->pod_create(ctx, one, NULL, NULL, &pod, &error);
    CHECK(rc == LIFEHOOK_OK, "pod_create: %s %s", api->status_name(rc), error ? error : "");
    CHECK(api->pod_update(pod, changed, NULL) == LIFEHOOK_OK, "pod_update of a command");
    rc = api->pod_update(pod, two, &error);
    CHECK(rc == LIFEHOOK_E_INVALID, "pod_update adding a container: %s", api->status_name(rc));
    CHECK(error && strncmp(error, "spec.containers: ", 17) == 0, "pod_update message: %s", error ? error : "(null)");
    api->free_fn(error);
    error = NULL;
    api->pod_destroy(pod);
  }

  /* submit, then cancel */
  rc = api->submit(ctx, "{\"handler\":{\"sleep\":{\"seconds\":10}}}", on_done, &done, &op, &error);
  CHECK(rc == LIFEHOOK_OK && op != 0, "submit: %s", api->status_name(rc));
  CHECK(api->cancel(ctx, op) == LIFEHOOK_OK, "cancel");
  /* one operation left in flight for ctx_free to cancel */
  rc = api->submit(ctx, "{\"handler\":{\"sleep\":{\"seconds\":10}}}", on_done, &done, NULL, NULL);
  CHECK(rc == LIFEHOOK_OK, "second submit: %s", api->status_name(rc));

  compare_signals("while the library runs", signals_before, signal_flags_before);
  api->ctx_free(ctx);
  CHECK(done.calls == 2, "done called %d times, want 2 (cancel + ctx_free)", done.calls);
  CHECK(strcmp(done.outcome, "canceled") == 0, "outcome after ctx_free: %s", done.outcome);

  api = NULL;
  CHECK(dlclose(lib) == 0, "dlclose: %s", dlerror());
  lib = dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD);
  CHECK(lib == NULL, "the library is still mapped after dlclose");
  if (lib) dlclose(lib);

  compare_signals("after dlclose", signals_before, signal_flags_before);
  shutdown(http_fd, SHUT_RDWR); /* wakes the responder's accept should a request never have come */
  pthread_join(responder_thread, NULL);
  CHECK(responder.served == 2, "the responder served %d requests, want 2", responder.served);

  /* An exited thread can show in /proc for a moment after its join: allow a short settle. */
  for (t0 = now_ms(); now_ms() - t0 < 1000 && count_entries("/proc/self/task") != threads_before;)
    nanosleep(&settle, NULL);
  CHECK(count_entries("/proc/self/task") == threads_before, "threads: %d before dlopen, %d after dlclose",
        threads_before, count_entries("/proc/self/task"));
  CHECK(count_entries("/proc/self/fd") == fds_before, "descriptors: %d before dlopen, %d after dlclose", fds_before,
        count_entries("/proc/self/fd"));
  close(tcp_fd);
  close(http_fd);
  pthread_mutex_destroy(&done.mu);
  printf("%s\n", failures ? "dlopen host: FAILED" : "dlopen host: all checks passed");
  return failures ? 1 : 0;
}
