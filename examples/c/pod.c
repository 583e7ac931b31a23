/* pod.c: the node-side lifecycle of a pod: an init container, then an app with a postStart
 * handler; watch its events, print its status, terminate it (preStop within the grace period).
 *
 *   cc pod.c $(pkg-config --cflags --libs lifehook) -o pod && ./pod
 *
 * The built-in "process" driver runs each container's command as a local process group. Events
 * (event.schema.json) arrive on a library thread, in order; the status is pod-status.schema.json. */
#include <lifehook/lifehook.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char* pod_json =
    "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"example\"},"
    " \"spec\": {\"terminationGracePeriodSeconds\": 2,"
    "  \"initContainers\": [{\"name\": \"setup\", \"command\": [\"/bin/sh\", \"-c\", \"sleep 0.2\"]}],"
    "  \"containers\": [{\"name\": \"app\", \"command\": [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep "
    "0.1; done\"],"
    "   \"lifecycle\": {\"postStart\": {\"exec\": {\"command\": [\"/bin/sh\", \"-c\", \"echo started\"]}},"
    "                 \"preStop\": {\"sleep\": {\"seconds\": 0.2}}}}]}}";

static void on_event(void* user, const char* event_json) {
  (void)user;
  printf("event:  %s\n", event_json);
  fflush(stdout);
}

static int phase_is(lifehook_pod* pod, const char* phase) {
  char* status = NULL;
  char want[64];
  snprintf(want, sizeof want, "\"phase\":\"%s\"", phase);
  int yes = lifehook_pod_status(pod, &status) == LIFEHOOK_OK && strstr(status, want) != NULL;
  lifehook_free(status);
  return yes;
}

int main(void) {
  lifehook_ctx* ctx = NULL;
  lifehook_pod* pod = NULL;
  char* error = NULL;
  int rc = lifehook_ctx_new(NULL, &ctx, &error);
  if (rc == LIFEHOOK_OK) rc = lifehook_pod_create(ctx, pod_json, NULL, NULL, &pod, &error);
  if (rc != LIFEHOOK_OK) {
    fprintf(stderr, "pod: %s: %s\n", lifehook_status_name(rc), error ? error : "");
    lifehook_free(error);
    lifehook_ctx_free(ctx);
    return 1;
  }
  lifehook_pod_watch(pod, on_event, NULL);
  lifehook_pod_start(pod);
  for (int i = 0; i < 200 && !phase_is(pod, "Running"); ++i) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  int running = phase_is(pod, "Running");
  char* status = NULL;
  lifehook_pod_status(pod, &status);
  printf("status: %s\n", status);
  lifehook_free(status);
  lifehook_pod_terminate(pod, -1); /* the spec's grace period; blocks until every container stopped */
  lifehook_pod_status(pod, &status);
  printf("status: %s\n", status);
  lifehook_free(status);
  lifehook_pod_destroy(pod);
  lifehook_ctx_free(ctx);
  return running ? 0 : 1;
}
