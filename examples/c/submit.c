/* submit.c: start handlers asynchronously, cancel one, and wait for every completion.
 *
 *   cc submit.c $(pkg-config --cflags --libs lifehook) -pthread -o submit && ./submit
 *
 * The `done` callback is called exactly once per operation, from a library thread (also for a
 * canceled operation and on lifehook_ctx_free()); the JSON is valid only during the call, so it
 * is copied. Ownership: `struct completions` outlives the context, so no callback can reach
 * freed memory. */
#include <lifehook/lifehook.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct completions {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int count;
  char results[2][512];
  uint64_t ops[2];
};

static void on_done(void* user, uint64_t op, const char* result_json) {
  struct completions* c = user;
  pthread_mutex_lock(&c->mu);
  for (int i = 0; i < 2; ++i)
    if (c->ops[i] == op) snprintf(c->results[i], sizeof c->results[i], "%s", result_json);
  c->count++;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

int main(void) {
  static struct completions c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {"", ""}, {0, 0}};
  lifehook_ctx* ctx = NULL;
  char* error = NULL;
  int rc = lifehook_ctx_new(NULL, &ctx, &error);
  if (rc != LIFEHOOK_OK) {
    fprintf(stderr, "submit: %s: %s\n", lifehook_status_name(rc), error ? error : "");
    lifehook_free(error);
    return 1;
  }
  const char* requests[2] = {
      "{\"handler\": {\"exec\": {\"command\": [\"/bin/sh\", \"-c\", \"echo quick\"]}}}",
      "{\"handler\": {\"sleep\": {\"seconds\": 60}}}",
  };
  pthread_mutex_lock(&c.mu); /* ops[] are written before a callback may read them */
  for (int i = 0; i < 2; ++i) {
    rc = lifehook_submit(ctx, requests[i], on_done, &c, &c.ops[i], &error);
    if (rc != LIFEHOOK_OK) {
      fprintf(stderr, "submit: %s: %s\n", lifehook_status_name(rc), error ? error : "");
      lifehook_free(error);
      pthread_mutex_unlock(&c.mu);
      lifehook_ctx_free(ctx);
      return 1;
    }
  }
  pthread_mutex_unlock(&c.mu);
  lifehook_cancel(ctx, c.ops[1]); /* the sleep ends now with outcome "canceled" */

  pthread_mutex_lock(&c.mu);
  while (c.count < 2) pthread_cond_wait(&c.cv, &c.mu);
  pthread_mutex_unlock(&c.mu);
  printf("exec:  %s\nsleep: %s\n", c.results[0], c.results[1]);
  lifehook_ctx_free(ctx);
  int ok = strstr(c.results[0], "\"outcome\":\"success\"") && strstr(c.results[1], "\"outcome\":\"canceled\"");
  return ok ? 0 : 1;
}
