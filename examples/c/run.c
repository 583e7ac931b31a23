/* run.c: run one lifecycle handler and print its result.
 *
 *   cc run.c $(pkg-config --cflags --libs lifehook) -o run && ./run 'sh -c "echo hello"'
 *
 * The request and result are JSON (request.schema.json / result.schema.json in
 * /usr/share/lifehook/schemas). lifehook_run() returns LIFEHOOK_OK whenever the handler ran:
 * its outcome ("success", "failure", ...) is in the result. */
#include <lifehook/lifehook.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  const char* command = argc > 1 ? argv[1] : "echo hello from lifehook";
  char request[4096];
  /* The command goes to /bin/sh -c; a real host would build the JSON with a JSON library. */
  if (strchr(command, '"') || strchr(command, '\\')) {
    fprintf(stderr, "run: keep this example's command free of \" and \\\n");
    return 2;
  }
  snprintf(request, sizeof request,
           "{\"handler\": {\"exec\": {\"command\": [\"/bin/sh\", \"-c\", \"%s\"]}}, \"timeoutMs\": 5000}", command);

  if ((lifehook_abi_version() >> 16) != LIFEHOOK_ABI_MAJOR) {
    fprintf(stderr, "run: liblifehook ABI %u, built for %d\n", lifehook_abi_version() >> 16, LIFEHOOK_ABI_MAJOR);
    return 1;
  }
  lifehook_ctx* ctx = NULL;
  char* error = NULL;
  int rc = lifehook_ctx_new("{\"threads\": 1}", &ctx, &error);
  if (rc != LIFEHOOK_OK) {
    fprintf(stderr, "run: %s: %s\n", lifehook_status_name(rc), error ? error : "");
    lifehook_free(error);
    return 1;
  }
  char* result = NULL;
  rc = lifehook_run(ctx, request, &result, &error);
  if (rc == LIFEHOOK_OK)
    printf("%s\n", result);
  else
    fprintf(stderr, "run: %s: %s\n", lifehook_status_name(rc), error ? error : "");
  int ok = rc == LIFEHOOK_OK && strstr(result, "\"outcome\":\"success\"") != NULL;
  lifehook_free(result);
  lifehook_free(error);
  lifehook_ctx_free(ctx);
  return ok ? 0 : 1;
}
