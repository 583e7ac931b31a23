/* A C host of the standalone probe ABI (1.1): tcpSocket, httpGet and exec probes against real
 * servers on 127.0.0.1 and real processes; callbacks on every transition; state; stop from
 * outside and from inside a callback; no callback after stop; exec timeouts kill the process;
 * lifehook_ctx_free with probes still running. Calls go through lifehook_get_api(1), as a
 * dlopen host would.
 *
 * Exit status 0 when every check passed; each failure is printed as "FAIL ...". */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
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

/* ---- what the callbacks saw ---- */
#define MAX_STATES 64
struct record {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int n;
  char* states[MAX_STATES];
  int stop_in_callback; /* stop the probe from the callback that reports this result count */
  int concurrent, active;
};

static void record_init(struct record* r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
}

static void record_free(struct record* r) {
  int i;
  for (i = 0; i < r->n; ++i) free(r->states[i]);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
}

static void on_transition(void* user, lifehook_probe* probe, const char* state_json) {
  struct record* r = user;
  int stop = 0;
  pthread_mutex_lock(&r->mu);
  if (r->active++) r->concurrent = 1;
  if (r->n < MAX_STATES) r->states[r->n++] = strdup(state_json);
  if (getenv("LIFEHOOK_TEST_LOG")) fprintf(stderr, "transition: %s\n", state_json);
  stop = r->stop_in_callback && r->n == r->stop_in_callback;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  if (stop) api->probe_stop(probe); /* allowed: frees the handle once this returns */
  pthread_mutex_lock(&r->mu);
  --r->active;
  pthread_mutex_unlock(&r->mu);
}

/* Waits until the callback has reported `count` states; 0 on timeout. */
static int wait_states(struct record* r, int count, int timeout_ms) {
  struct timespec until;
  int ok;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec += 1;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&r->mu);
  while (r->n < count)
    if (pthread_cond_timedwait(&r->cv, &r->mu, &until) != 0) break;
  ok = r->n >= count;
  pthread_mutex_unlock(&r->mu);
  return ok;
}

static int has(const char* s, const char* needle) { return s && strstr(s, needle) != NULL; }

static const char* state_at(struct record* r, int i) {
  const char* s;
  pthread_mutex_lock(&r->mu);
  s = i < r->n ? r->states[i] : NULL;
  pthread_mutex_unlock(&r->mu);
  return s;
}

static int state_count(struct record* r) {
  int n;
  pthread_mutex_lock(&r->mu);
  n = r->n;
  pthread_mutex_unlock(&r->mu);
  return n;
}

static void sleep_ms(int ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

/* ---- servers on 127.0.0.1 ---- */
static int listen_loopback(int* port) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&a, sizeof a) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return -1;
  }
  getsockname(fd, (struct sockaddr*)&a, &len);
  *port = ntohs(a.sin_port);
  return fd;
}

/* An HTTP server answering every request with `status` (changeable while it runs). */
struct http_server {
  int fd, port;
  volatile int status;
  volatile int quit;
  pthread_t thread;
};

static void* http_serve(void* arg) {
  struct http_server* s = arg;
  while (!s->quit) {
    char buf[2048], resp[256];
    int n, c = accept(s->fd, NULL, NULL);
    if (c < 0) continue;
    n = (int)read(c, buf, sizeof buf);
    if (n > 0) {
      int len =
          snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", s->status);
      if (write(c, resp, (size_t)len) < 0) { /* the prober went away */
      }
    }
    close(c);
  }
  return NULL;
}

static char* probe_json(const char* type, const char* handler, const char* extra) {
  static char buf[1024];
  snprintf(buf, sizeof buf, "{\"%s\": {%s, \"periodSeconds\": 1%s%s}}", type, handler, extra[0] ? ", " : "", extra);
  return buf;
}

static lifehook_probe* start(lifehook_ctx* ctx, const char* probe, const char* target, struct record* r) {
  lifehook_probe* p = NULL;
  char* error = NULL;
  int rc = api->probe_start(ctx, probe, target, on_transition, r, &p, &error);
  CHECK(rc == LIFEHOOK_OK && p, "probe_start(%s) = %s: %s", probe, api->status_name(rc), error ? error : "");
  api->free_fn(error);
  return p;
}

/* Children of this process (the exec probe's processes are ours until reaped). */
static int count_children(void) {
  DIR* d = opendir("/proc");
  struct dirent* e;
  int n = 0;
  char me[32];
  snprintf(me, sizeof me, "%d", (int)getpid());
  if (!d) return -1;
  while ((e = readdir(d)) != NULL) {
    char path[300], buf[512], *p;
    FILE* f;
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    f = fopen(path, "r");
    if (!f) continue;
    /* The context's cgroup guard lives until the last lifehook_ctx_free, by design: not a leftover. */
    if (fgets(buf, sizeof buf, f) && !strstr(buf, "(lifehook-guard)") && (p = strrchr(buf, ')')) != NULL) {
      char state;
      int ppid;
      if (sscanf(p + 2, "%c %d", &state, &ppid) == 2 && ppid == (int)getpid()) ++n;
    }
    fclose(f);
  }
  closedir(d);
  return n;
}

static void test_tcp_readiness(lifehook_ctx* ctx) {
  struct record r;
  int port, fd;
  char handler[128], *state = NULL;
  lifehook_probe* p;
  record_init(&r);
  fd = listen_loopback(&port);
  CHECK(fd >= 0, "listen");
  snprintf(handler, sizeof handler, "\"tcpSocket\": {\"port\": %d}", port);
  p = start(ctx, probe_json("readinessProbe", handler, "\"failureThreshold\": 1"), "{\"podIP\": \"127.0.0.1\"}", &r);
  /* readiness starts failed, then the first attempt succeeds at once */
  CHECK(wait_states(&r, 2, 5000), "tcp readiness: %d transitions, wanted 2", state_count(&r));
  CHECK(has(state_at(&r, 0), "\"result\":\"failure\"") && has(state_at(&r, 0), "\"type\":\"readiness\""),
        "tcp readiness: initial %s", state_at(&r, 0));
  CHECK(has(state_at(&r, 1), "\"result\":\"success\""), "tcp readiness: then %s", state_at(&r, 1));
  close(fd); /* nothing listens any more: the next attempt fails */
  CHECK(wait_states(&r, 3, 5000), "tcp readiness: no failure after the listener closed");
  CHECK(has(state_at(&r, 2), "\"result\":\"failure\"") && has(state_at(&r, 2), "\"lastAttempt\""), "tcp readiness: %s",
        state_at(&r, 2));
  CHECK(api->probe_state(p, &state) == LIFEHOOK_OK && has(state, "\"onHold\":false") && has(state, "\"stopped\":false"),
        "tcp readiness state: %s", state);
  api->free_fn(state);
  api->probe_stop(p);
  {
    int n = state_count(&r);
    sleep_ms(1500);
    CHECK(state_count(&r) == n, "a callback after lifehook_probe_stop returned");
  }
  CHECK(!r.concurrent, "two callbacks of one probe ran at once");
  record_free(&r);
}

static void test_http_liveness(lifehook_ctx* ctx) {
  struct record r;
  struct http_server s;
  char handler[160], target[160];
  lifehook_probe* p;
  record_init(&r);
  memset(&s, 0, sizeof s);
  s.status = 200;
  s.fd = listen_loopback(&s.port);
  pthread_create(&s.thread, NULL, http_serve, &s);
  snprintf(handler, sizeof handler, "\"httpGet\": {\"path\": \"/healthz\", \"port\": \"web\"}");
  snprintf(target, sizeof target, "{\"podIP\": \"127.0.0.1\", \"ports\": [{\"name\": \"web\", \"containerPort\": %d}]}",
           s.port);
  p = start(ctx, probe_json("livenessProbe", handler, "\"failureThreshold\": 2"), target, &r);
  CHECK(wait_states(&r, 1, 5000), "http liveness: no initial state");
  CHECK(has(state_at(&r, 0), "\"result\":\"success\""), "http liveness initial: %s", state_at(&r, 0));
  sleep_ms(1200);
  CHECK(state_count(&r) == 1, "http liveness: a transition while healthy: %s", state_at(&r, 1));
  s.status = 500;
  CHECK(wait_states(&r, 2, 6000), "http liveness: no failure after the server turned 500");
  CHECK(has(state_at(&r, 1), "\"result\":\"failure\"") &&
            has(state_at(&r, 1), "HTTP probe failed with statuscode: 500") && has(state_at(&r, 1), "\"onHold\":true"),
        "http liveness failure: %s", state_at(&r, 1));
  api->probe_stop(p);
  s.quit = 1;
  shutdown(s.fd, SHUT_RDWR); /* accept() returns */
  pthread_join(s.thread, NULL);
  close(s.fd);
  record_free(&r);
}

static void test_exec_liveness(lifehook_ctx* ctx) {
  struct record r;
  char path[] = "/tmp/lifehook-probe-health-XXXXXX", handler[200];
  int fd = mkstemp(path);
  lifehook_probe* p;
  record_init(&r);
  CHECK(fd >= 0, "mkstemp");
  close(fd);
  snprintf(handler, sizeof handler, "\"exec\": {\"command\": [\"cat\", \"%s\"]}", path);
  p = start(ctx, probe_json("livenessProbe", handler, "\"failureThreshold\": 1"), NULL, &r);
  CHECK(wait_states(&r, 1, 5000), "exec liveness: no initial state");
  sleep_ms(1200);
  CHECK(state_count(&r) == 1, "exec liveness: a transition while the file exists");
  unlink(path);
  CHECK(wait_states(&r, 2, 6000), "exec liveness: no failure after the file went");
  CHECK(has(state_at(&r, 1), "\"result\":\"failure\"") && has(state_at(&r, 1), "No such file or directory"),
        "exec liveness failure: %s", state_at(&r, 1));
  api->probe_stop(p);
  record_free(&r);
}

static void test_exec_timeout(lifehook_ctx* ctx) {
  struct record r;
  lifehook_probe* p;
  record_init(&r);
  p = start(ctx,
            probe_json("livenessProbe", "\"exec\": {\"command\": [\"sleep\", \"30\"]}",
                       "\"timeoutSeconds\": 1, \"failureThreshold\": 1"),
            NULL, &r);
  CHECK(wait_states(&r, 2, 8000), "exec timeout: no failure");
  CHECK(has(state_at(&r, 1), "\"result\":\"failure\"") && has(state_at(&r, 1), "timed out"), "exec timeout: %s",
        state_at(&r, 1));
  sleep_ms(300);
  CHECK(count_children() == 0, "exec timeout: %d child processes left", count_children());
  api->probe_stop(p);
  record_free(&r);
}

static void test_stop_from_callback_and_invalid(lifehook_ctx* ctx) {
  struct record r;
  lifehook_probe* p = NULL;
  char* error = NULL;
  int rc;
  record_init(&r);
  r.stop_in_callback = 1;
  start(ctx, probe_json("readinessProbe", "\"exec\": {\"command\": [\"true\"]}", ""), NULL, &r);
  CHECK(wait_states(&r, 1, 5000), "stop from callback: no callback");
  sleep_ms(1500);
  CHECK(state_count(&r) == 1, "a callback after the probe stopped itself");
  record_free(&r);

  rc = api->probe_start(ctx, "{\"livenessProbe\": {\"tcpSocket\": {\"port\": 80}, \"successThreshold\": 2}}",
                        "{\"podIP\": \"127.0.0.1\"}", NULL, NULL, &p, &error);
  CHECK(rc == LIFEHOOK_E_INVALID && !p && has(error, "livenessProbe.successThreshold: must be 1") &&
            has(error, "(got 2)"),
        "invalid: %d %s", rc, error);
  api->free_fn(error);
  rc = api->probe_start(ctx, "{\"readinessProbe\": {\"tcpSocket\": {\"port\": 80}}}", NULL, NULL, NULL, &p, &error);
  CHECK(rc == LIFEHOOK_E_INVALID && has(error, "readinessProbe.tcpSocket.host: is required when target.podIP"),
        "no host: %d %s", rc, error);
  api->free_fn(error);
  rc = api->probe_start(ctx, "{\"startupProbe\": {\"tcpSocket\": {\"port\": 80}}, \"x\": 1}", NULL, NULL, NULL, &p,
                        &error);
  CHECK(rc == LIFEHOOK_E_INVALID && has(error, "probe.x"), "unknown key: %d %s", rc, error);
  api->free_fn(error);
}

static void test_ctx_free_with_probes(void) {
  lifehook_ctx* ctx = NULL;
  struct record r;
  lifehook_probe* p;
  char* state = NULL;
  int n;
  record_init(&r);
  CHECK(api->ctx_new("{\"threads\": 1}", &ctx, NULL) == LIFEHOOK_OK, "ctx_new");
  p = start(ctx, probe_json("readinessProbe", "\"exec\": {\"command\": [\"sleep\", \"20\"]}", "\"timeoutSeconds\": 30"),
            NULL, &r);
  CHECK(wait_states(&r, 1, 5000), "ctx free: no initial state");
  sleep_ms(200);
  api->ctx_free(ctx); /* the sleep in flight is killed, no callback after this */
  n = state_count(&r);
  CHECK(count_children() == 0, "ctx free: %d child processes left", count_children());
  CHECK(api->probe_state(p, &state) == LIFEHOOK_OK && has(state, "\"stopped\":true"), "state after ctx_free: %s",
        state);
  api->free_fn(state);
  api->probe_stop(p);
  CHECK(state_count(&r) == n, "a callback after lifehook_ctx_free");
  record_free(&r);
}

int main(void) {
  lifehook_ctx* ctx = NULL;
  api = lifehook_get_api(1);
  if (!api || api->struct_size < offsetof(struct lifehook_api, probe_stop) + sizeof api->probe_stop) {
    fprintf(stderr, "FAIL: the function table has no probe functions\n");
    return 1;
  }
  CHECK(api->probe_start == lifehook_probe_start && api->probe_state == lifehook_probe_state &&
            api->probe_stop == lifehook_probe_stop,
        "table members");
  CHECK(api->ctx_new(NULL, &ctx, NULL) == LIFEHOOK_OK, "ctx_new");
  test_tcp_readiness(ctx);
  test_http_liveness(ctx);
  test_exec_liveness(ctx);
  test_exec_timeout(ctx);
  test_stop_from_callback_and_invalid(ctx);
  api->ctx_free(ctx);
  test_ctx_free_with_probes();
  api->probe_stop(NULL);
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
