/* A host-owned container runtime written in C, proving the lifehook_driver callback contract:
 * start receives the pod uid and the Kubernetes Container JSON and may return info_json;
 * the engine sends the stop signal and SIGKILL through `signal`, calls `remove` after each
 * exit, and the host reports exits with lifehook_pod_container_exited (here also from inside a
 * callback, which the contract allows). Containers here are bookkeeping only: "app" exits on
 * SIGTERM, "stubborn" ignores it and dies on SIGKILL; "broken" fails to start. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lifehook/lifehook.h"

static int failures = 0;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

typedef struct runtime {
  lifehook_pod* pod; /* set after create; callbacks only run after start */
  char uid[64];
  int starts_setup, starts_app, starts_stubborn, starts_broken;
  int term_app, term_stubborn, kill_stubborn, removes;
  int bad_uid;
} runtime;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

static char* dup_str(const char* s) {
  char* p = malloc(strlen(s) + 1);
  if (p) strcpy(p, s);
  return p;
}

/* The container name from the Container JSON ("name":"..."): enough for this test. */
static void container_name(const char* json, char* out, size_t n) {
  const char* p = strstr(json, "\"name\":\"");
  size_t i = 0;
  out[0] = '\0';
  if (!p) return;
  p += 8;
  while (*p && *p != '"' && i + 1 < n) out[i++] = *p++;
  out[i] = '\0';
}

static int rt_start(void* user, const char* pod_uid, const char* container_json, char** info_json, char** error) {
  runtime* rt = user;
  char name[64];
  if (strcmp(pod_uid, rt->uid) != 0) rt->bad_uid++;
  container_name(container_json, name, sizeof name);
  if (strcmp(name, "broken") == 0) {
    rt->starts_broken++;
    if (error) *error = dup_str("image \"nope\" not found");
    return 2;
  }
  if (strcmp(name, "quick") == 0) {
    /* Exits at once, reported from inside start, before start even returned. */
    CHECK(lifehook_pod_container_exited(rt->pod, "quick", 0, 0) == LIFEHOOK_OK);
  }
  if (strcmp(name, "setup") == 0) rt->starts_setup++;
  if (strcmp(name, "app") == 0) rt->starts_app++;
  if (strcmp(name, "stubborn") == 0) rt->starts_stubborn++;
  if (info_json) *info_json = dup_str("{\"pid\": 4242, \"podIP\": \"127.0.0.1\"}");
  return 0;
}

static int rt_signal(void* user, const char* pod_uid, const char* container, int signo) {
  runtime* rt = user;
  if (strcmp(pod_uid, rt->uid) != 0) rt->bad_uid++;
  if (strcmp(container, "app") == 0 && signo == SIGTERM) {
    rt->term_app++;
    /* Reporting the exit from inside the callback is allowed. */
    CHECK(lifehook_pod_container_exited(rt->pod, "app", 143, SIGTERM) == LIFEHOOK_OK);
  } else if (strcmp(container, "stubborn") == 0 && signo == SIGTERM) {
    rt->term_stubborn++;
  } else if (strcmp(container, "stubborn") == 0 && signo == SIGKILL) {
    rt->kill_stubborn++;
    CHECK(lifehook_pod_container_exited(rt->pod, "stubborn", 137, SIGKILL) == LIFEHOOK_OK);
  }
  return 0;
}

static int rt_remove(void* user, const char* pod_uid, const char* container) {
  runtime* rt = user;
  (void)container;
  if (strcmp(pod_uid, rt->uid) != 0) rt->bad_uid++;
  rt->removes++;
  return 0;
}

static char* status(lifehook_pod* pod) {
  char* s = NULL;
  CHECK(lifehook_pod_status(pod, &s) == LIFEHOOK_OK);
  return s;
}

static int status_has(lifehook_pod* pod, const char* fragment) {
  char* s = status(pod);
  int found = s && strstr(s, fragment) != NULL;
  lifehook_free(s);
  return found;
}

static int wait_for(lifehook_pod* pod, const char* fragment, int timeout_ms) {
  double t0 = now_ms();
  while (now_ms() - t0 < timeout_ms) {
    if (status_has(pod, fragment)) return 1;
    sleep_ms(5);
  }
  return status_has(pod, fragment);
}

typedef struct events {
  char reasons[64][32];
  int n;
} events;

static void on_event(void* user, const char* event_json) {
  events* ev = user;
  const char* p = strstr(event_json, "\"reason\":\"");
  if (!p || ev->n >= 64) return;
  p += 10;
  {
    int i = 0;
    while (*p && *p != '"' && i < 31) ev->reasons[ev->n][i++] = *p++;
    ev->reasons[ev->n][i] = '\0';
  }
  ev->n++;
}

static int count_reason(const events* ev, const char* reason) {
  int i, n = 0;
  for (i = 0; i < ev->n; ++i) n += strcmp(ev->reasons[i], reason) == 0;
  return n;
}

int main(void) {
  lifehook_ctx* ctx = NULL;
  lifehook_pod* pod = NULL;
  char* err = NULL;
  runtime rt;
  events ev;
  lifehook_driver drv;
  double t0, took;
  const char* pod_json =
      "{\"metadata\":{\"name\":\"cpod\",\"uid\":\"c-uid-1\"},\"spec\":{\"terminationGracePeriodSeconds\":30,"
      "\"initContainers\":[{\"name\":\"setup\",\"image\":\"busybox\"}],"
      "\"containers\":[{\"name\":\"app\",\"image\":\"nginx\"},{\"name\":\"stubborn\",\"image\":\"busybox\"}]}}";

  memset(&rt, 0, sizeof rt);
  memset(&ev, 0, sizeof ev);
  strcpy(rt.uid, "c-uid-1");
  memset(&drv, 0, sizeof drv);
  drv.struct_size = sizeof drv;
  drv.user = &rt;
  drv.start = rt_start;
  drv.signal = rt_signal;
  drv.remove = rt_remove;

  CHECK(lifehook_ctx_new(NULL, &ctx, &err) == LIFEHOOK_OK);
  /* Images are fine for a host driver (the process driver would refuse them). */
  CHECK(lifehook_pod_create(ctx, pod_json, "{\"backoffInitialMs\": 60000}", &drv, &pod, &err) == LIFEHOOK_OK);
  if (!pod) {
    fprintf(stderr, "create failed: %s\n", err ? err : "?");
    return 1;
  }
  rt.pod = pod;
  CHECK(lifehook_pod_watch(pod, on_event, &ev) == LIFEHOOK_OK);
  CHECK(lifehook_pod_container_exited(pod, "nosuch", 0, 0) == LIFEHOOK_E_NOT_FOUND);
  CHECK(lifehook_pod_start(pod) == LIFEHOOK_OK);

  /* The init container runs until the host says it exited 0. */
  CHECK(wait_for(pod, "\"status\":\"Init:0/1\"", 2000));
  sleep_ms(100);
  CHECK(rt.starts_setup == 1 && rt.starts_app == 0);
  CHECK(lifehook_pod_container_exited(pod, "setup", 0, 0) == LIFEHOOK_OK);
  CHECK(wait_for(pod, "\"ready\":\"2/2\"", 2000));
  CHECK(status_has(pod, "\"status\":\"Running\""));
  CHECK(rt.starts_app == 1 && rt.starts_stubborn == 1);

  /* A crash reported by the host: immediate first restart. */
  CHECK(lifehook_pod_container_exited(pod, "app", 1, 0) == LIFEHOOK_OK);
  CHECK(wait_for(pod, "\"restartCount\":1", 2000));
  CHECK(wait_for(pod, "\"ready\":\"2/2\"", 2000));
  CHECK(rt.starts_app == 2);

  /* Terminate: app exits on SIGTERM, stubborn needs SIGKILL at the deadline (2.5 s). */
  t0 = now_ms();
  CHECK(lifehook_pod_terminate(pod, 2500) == LIFEHOOK_OK);
  took = now_ms() - t0;
  printf("C driver: terminate with grace 2500 ms returned after %.0f ms\n", took);
  CHECK(took >= 2490 && took < 2500 + 2000); /* the deadline, with room for a loaded machine */
  CHECK(rt.term_app == 1 && rt.term_stubborn == 1 && rt.kill_stubborn == 1);
  CHECK(rt.removes >= 4); /* setup, app (crash), app, stubborn */
  CHECK(rt.bad_uid == 0);
  CHECK(status_has(pod, "\"phase\":\"Failed\""));
  CHECK(status_has(pod, "\"exitCode\":137"));
  CHECK(lifehook_pod_wait(pod, 0) == LIFEHOOK_OK);
  CHECK(count_reason(&ev, "Killing") == 2);
  CHECK(count_reason(&ev, "Started") == 4);
  CHECK(strcmp(ev.reasons[0], "Created") == 0 && strcmp(ev.reasons[1], "Started") == 0);
  lifehook_pod_destroy(pod);

  /* A start failure is a Failed event and a StartError; restartPolicy Never fails the pod. */
  {
    const char* broken =
        "{\"metadata\":{\"name\":\"broken\",\"uid\":\"c-uid-1\"},\"spec\":{\"restartPolicy\":\"Never\","
        "\"containers\":[{\"name\":\"broken\",\"image\":\"nope\"}]}}";
    events ev2;
    memset(&ev2, 0, sizeof ev2);
    pod = NULL;
    CHECK(lifehook_pod_create(ctx, broken, NULL, &drv, &pod, NULL) == LIFEHOOK_OK);
    rt.pod = pod;
    CHECK(lifehook_pod_watch(pod, on_event, &ev2) == LIFEHOOK_OK);
    CHECK(lifehook_pod_start(pod) == LIFEHOOK_OK);
    CHECK(lifehook_pod_wait(pod, 5000) == LIFEHOOK_OK);
    CHECK(status_has(pod, "\"phase\":\"Failed\""));
    CHECK(status_has(pod, "\"reason\":\"StartError\""));
    CHECK(status_has(pod, "image \\\"nope\\\" not found"));
    sleep_ms(50);
    CHECK(count_reason(&ev2, "Failed") == 1);
    lifehook_pod_destroy(pod);
  }

  /* An exit reported inside the start callback is not lost. */
  {
    const char* quick =
        "{\"metadata\":{\"name\":\"quick\",\"uid\":\"c-uid-1\"},\"spec\":{\"restartPolicy\":\"Never\","
        "\"containers\":[{\"name\":\"quick\",\"image\":\"busybox\"}]}}";
    pod = NULL;
    CHECK(lifehook_pod_create(ctx, quick, NULL, &drv, &pod, NULL) == LIFEHOOK_OK);
    rt.pod = pod;
    CHECK(lifehook_pod_start(pod) == LIFEHOOK_OK);
    CHECK(lifehook_pod_wait(pod, 5000) == LIFEHOOK_OK);
    CHECK(status_has(pod, "\"phase\":\"Succeeded\""));
    CHECK(status_has(pod, "\"status\":\"Completed\""));
    lifehook_pod_destroy(pod);
  }

  /* A driver without start is refused, naming the field. */
  drv.start = NULL;
  pod = NULL;
  CHECK(lifehook_pod_create(ctx, pod_json, NULL, &drv, &pod, &err) == LIFEHOOK_E_INVALID);
  CHECK(err && strstr(err, "driver.start"));
  lifehook_free(err);
  lifehook_ctx_free(ctx);
  if (failures)
    fprintf(stderr, "%d check(s) failed\n", failures);
  else
    printf("C driver contract: all checks passed\n");
  return failures ? 1 : 0;
}
