/*
 * lifehook — container lifecycle hook engine. The one public header.
 *
 * Stable C ABI (hourglass): opaque handles, status codes, JSON in and out.
 * Rules (docs/ABI.md): functions and enum values are only ever added; tables grow
 * only at the end and start with their size; JSON fields are only ever added.
 *
 * Strings returned by the library (result_json, status_json, error, ...) are
 * malloc'd by the library and must be released with lifehook_free().
 * `error` out-parameters may be NULL; when non-NULL they receive a one-line message
 * on failure (and NULL on success).
 */
#ifndef LIFEHOOK_H
#define LIFEHOOK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LIFEHOOK_API
#elif defined(__GNUC__) && __GNUC__ >= 4
#define LIFEHOOK_API __attribute__((visibility("default")))
#else
#define LIFEHOOK_API
#endif

/* Compile-time ABI version; compare with lifehook_abi_version() at run time. */
#define LIFEHOOK_ABI_MAJOR 1
#define LIFEHOOK_ABI_MINOR 1
#define LIFEHOOK_VERSION_MAJOR 1
#define LIFEHOOK_VERSION_MINOR 1
#define LIFEHOOK_VERSION_PATCH 0
#define LIFEHOOK_VERSION_STRING "1.1.0"

typedef enum lifehook_status {
  LIFEHOOK_OK = 0,
  LIFEHOOK_E_INVALID = 1,     /* bad argument, JSON or spec; the error text names the JSON path and the value */
  LIFEHOOK_E_STATE = 2,       /* call not valid in the object's current state */
  LIFEHOOK_E_NOT_FOUND = 3,   /* unknown operation id, container name, ... */
  LIFEHOOK_E_UNSUPPORTED = 4, /* feature not available on this system (e.g. not root for namespace exec) */
  LIFEHOOK_E_SYSTEM = 5,      /* OS or resource error; errno text in the message */
  LIFEHOOK_E_NOMEM = 6
} lifehook_status;

/* A context: an event loop run by a small fixed thread pool, and everything started on it. */
typedef struct lifehook_ctx lifehook_ctx;

/* Log callback. level: 0 trace, 1 debug, 2 info, 3 warning, 4 error, 5 critical.
   Called from the library's threads; `message` is valid only during the call. */
typedef void (*lifehook_log_fn)(void *user, int level, const char *message);

/* Completion callback of lifehook_submit(). Called exactly once per operation, from an
   event-loop thread; `result_json` is valid only during the call. Do not block in it. */
typedef void (*lifehook_done_fn)(void *user, uint64_t op, const char *result_json);

/* (LIFEHOOK_ABI_MAJOR << 16) | LIFEHOOK_ABI_MINOR of the loaded library. */
LIFEHOOK_API uint32_t lifehook_abi_version(void);

/* Version string of the loaded library, e.g. "1.0.0". Static storage; do not free. */
LIFEHOOK_API const char *lifehook_version(void);

/* Name of a status code, e.g. "LIFEHOOK_E_INVALID"; "LIFEHOOK_E_UNKNOWN" for other values. Static storage. */
LIFEHOOK_API const char *lifehook_status_name(int status);

/* Creates a context. options_json (NULL = defaults), all fields optional:
   {"threads": 2, "logLevel": "warning"|0..5, "maxOutputBytes": 10240, "userAgent": "...",
    "kubeletCompat": false, "verifyTLS": false}
   On success *out receives the context; release it with lifehook_ctx_free(). */
LIFEHOOK_API int lifehook_ctx_new(const char *options_json, lifehook_ctx **out, char **error);

/* Cancels all work, kills and reaps every child, joins every thread, frees everything.
   After it returns nothing of the library runs, so dlclose() is clean. NULL is a no-op.
   Must not be called from a library callback. */
LIFEHOOK_API void lifehook_ctx_free(lifehook_ctx *ctx);

/* Routes the library's log lines at or above min_level to fn (NULL fn = silence).
   Without a logger nothing is written anywhere (never to the host's stdout/stderr). */
LIFEHOOK_API int lifehook_ctx_set_logger(lifehook_ctx *ctx, lifehook_log_fn fn, void *user, int min_level);

/* Runs one handler and blocks until it completes. Request JSON:
   {"handler": {exactly one of "exec" | "httpGet" | "tcpSocket" | "sleep" | "grpc", Kubernetes field names},
    "target": {"podIP": "127.0.0.1", "ports": [{"name": "http", "containerPort": 8080}],
               "env": [{"name": "K", "value": "V"}], "workingDir": "/", "pid": 1234,
               "netns": "/proc/1234/ns/net"},
    "timeoutMs": 1000, "purpose": "postStart|preStop|liveness|readiness|startup|oneshot"}
   Returns LIFEHOOK_OK whenever the handler ran, whatever its outcome; *result_json then holds
   {"outcome": "success|failure|timeout|canceled|error", "message": "...", "durationMs": 1.23,
    "exitCode": 0, "signal": 0, "httpStatus": 200, "output": "...", "truncated": false, "warnings": []}
   (fields that do not apply are omitted). Invalid requests return LIFEHOOK_E_INVALID.
   target.netns (optional, absolute path of a network namespace file): httpGet and tcpSocket create
   their socket inside that namespace, so 127.0.0.1 is the pod's loopback; exec and sleep ignore it.
   A namespace that cannot be entered gives outcome "error" naming target.netns.
   handler.grpc (1.1): {"port": 50051 (a number), "service": "" (optional), "host": "..." (optional,
   default target.podIP)} calls grpc.health.v1.Health/Check over HTTP/2 cleartext, with the timeout
   sent as grpc-timeout; SERVING is "success", any other status, a gRPC error (e.g. NOT_FOUND for an
   unknown service), a server that is not gRPC and a closed port are "failure" with the kubelet's
   messages; target.netns applies as for httpGet. A 1.0 library refuses it (LIFEHOOK_E_INVALID).
   Exec inside a running container: target.pid (the container init's host pid) with
   target.bundle (its OCI bundle directory: config.json gives user, groups, capabilities,
   noNewPrivileges, rlimits, seccomp, env and cwd) and target.execMode: "container" (default when
   pid and bundle are given: the library joins the init's namespaces and cgroups itself, as
   `runc exec` would), "runtime" (delegates to `<target.runtime, default runc> --root
   <target.runtimeRoot> exec`; without runtimeRoot, runc in /run/runc; a pod's oci driver sets
   both on its hooks' targets) or "host".
   Settings that cannot be applied on this machine are listed in the result's "warnings". */
LIFEHOOK_API int lifehook_run(lifehook_ctx *ctx, const char *request_json, char **result_json, char **error);

/* Starts one handler asynchronously; `done` is called exactly once with the result
   (also on cancel and on lifehook_ctx_free). *op (may be NULL) receives the operation id (never 0).
   Validation errors are returned here and `done` is then not called. */
LIFEHOOK_API int lifehook_submit(lifehook_ctx *ctx, const char *request_json, lifehook_done_fn done, void *user,
                                 uint64_t *op, char **error);

/* Cancels an operation: its process tree is killed and reaped, `done` receives outcome "canceled".
   LIFEHOOK_E_NOT_FOUND if the operation is unknown or already completed. */
LIFEHOOK_API int lifehook_cancel(lifehook_ctx *ctx, uint64_t op);

/* Frees a string returned by the library. NULL is a no-op. */
LIFEHOOK_API void lifehook_free(void *p);

/* ---- Pods: the node-side lifecycle of a Kubernetes Pod ---------------------------------- */

typedef struct lifehook_pod lifehook_pod;

/* Event callback: {"type":"Normal|Warning","reason":"...","message":"...","container":"...","time":"RFC3339"}.
   Called from an event-loop thread, in order, once per event per watcher.
   Since 1.1, repeated identical events are aggregated as Kubernetes Event objects: each occurrence also
   carries "count" (1, 2, ... within its series of identical type/reason/container/message),
   "firstTimestamp" (the series' first occurrence) and "lastTimestamp" (this one, = "time"). */
typedef void (*lifehook_event_fn)(void *user, const char *event_json);

/* Host-owned containers. struct_size = sizeof as compiled by the host; NULL callbacks mean "not supported".
   Callbacks return 0 on success (else a non-zero errno-like value, with *error malloc'd by the host
   when error is non-NULL; the library frees it with free()). */
typedef struct lifehook_driver {
  uint32_t struct_size;
  void *user;
  /* start one container; container_json is the Kubernetes Container; on success *info_json (malloc'd, may be
     NULL) may give {"pid": N, "podIP": "..."} for handlers to use */
  int (*start)(void *user, const char *pod_uid, const char *container_json, char **info_json, char **error);
  int (*signal)(void *user, const char *pod_uid, const char *container_name, int signo);
  int (*remove)(void *user, const char *pod_uid, const char *container_name);
} lifehook_driver;

/* Creates a pod from Kubernetes v1 Pod JSON. options_json (NULL = defaults):
   {"driver": "process", "backoffInitialMs": 10000, "backoffMaxMs": 300000, "backoffResetMs": 600000,
    "podStateDir": "/abs/dir" (ABI 1.1: persisted for lifehook_pod_adopt; oci driver only)}.
   driver: NULL = the built-in driver named in options. */
LIFEHOOK_API int lifehook_pod_create(lifehook_ctx *ctx, const char *pod_json, const char *options_json,
                                     const lifehook_driver *driver, lifehook_pod **out, char **error);
/* Starts the pod's lifecycle; returns at once; progress via status and events. */
LIFEHOOK_API int lifehook_pod_start(lifehook_pod *pod);
/* Terminates the pod; grace_ms < 0: the spec's grace. Blocks until every container has stopped. */
LIFEHOOK_API int lifehook_pod_terminate(lifehook_pod *pod, int64_t grace_ms);
/* Waits until the phase is Succeeded or Failed, or the pod is terminated; timeout_ms < 0 = forever.
   LIFEHOOK_E_STATE when the timeout passed first. */
LIFEHOOK_API int lifehook_pod_wait(lifehook_pod *pod, int64_t timeout_ms);
/* Current status JSON (phase, conditions, containerStatuses, display columns). */
LIFEHOOK_API int lifehook_pod_status(lifehook_pod *pod, char **status_json);
/* Adds a watcher that receives every event of the pod (past ones first), in order. */
LIFEHOOK_API int lifehook_pod_watch(lifehook_pod *pod, lifehook_event_fn fn, void *user);
/* A host driver reports each container exit. */
LIFEHOOK_API int lifehook_pod_container_exited(lifehook_pod *pod, const char *container_name, int exit_code,
                                               int signal);
/* Terminates with grace 0 if still running, then frees the pod. NULL is a no-op. */
LIFEHOOK_API void lifehook_pod_destroy(lifehook_pod *pod);

/* ---- Standalone probes (ABI 1.1): liveness/readiness/startup for containers the host owns ---- */

/* A periodic probe with the kubelet's rules (pkg/kubelet/prober/worker.go), run by the context's
   event loop: a timer, no thread of its own, the request parsed once, no host call per attempt. */
typedef struct lifehook_probe lifehook_probe;

/* Called on every change of the probe's published result (the first, initial result included:
   readiness starts "failure", liveness "success", startup "unknown"), from an event-loop thread,
   one call at a time per probe, never with a library lock held (it may call lifehook_probe_state
   and lifehook_probe_stop). `state_json` (valid only during the call) is the state as
   lifehook_probe_state gives it. Do not block in it. */
typedef void (*lifehook_probe_fn)(void *user, lifehook_probe *probe, const char *state_json);

/* Starts a probe (ABI 1.1). probe_json holds exactly one Kubernetes Probe under its Container
   field name: {"livenessProbe"|"readinessProbe"|"startupProbe": {"exec"|"httpGet"|"tcpSocket": {...},
   "initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1,
   "failureThreshold": 3, "terminationGracePeriodSeconds": N}} with the Kubernetes defaults and
   validation (successThreshold must be 1 for liveness and startup; terminationGracePeriodSeconds
   not on readiness; 0 means the default). target_json (NULL = {}) is lifehook_run's "target"
   (podIP, ports, env, pid, bundle, execMode, netns, ...). The target counts as running from this
   call: initialDelaySeconds starts now; the first attempt runs at once (or after the delay),
   then one per periodSeconds, each limited to timeoutSeconds (an exec's process tree is killed).
   A result is published after failureThreshold consecutive failures or successThreshold
   consecutive successes. After a liveness failure or any startup result is published the probe
   holds, as the kubelet's worker does until a new container: stop it and start a new one for the
   restarted container. fn may be NULL (poll with lifehook_probe_state). Invalid JSON or values
   return LIFEHOOK_E_INVALID naming the field path and the value. On success *probe receives the
   handle; it belongs to the host until lifehook_probe_stop. */
LIFEHOOK_API int lifehook_probe_start(lifehook_ctx *ctx, const char *probe_json, const char *target_json,
                                      lifehook_probe_fn fn, void *user, lifehook_probe **probe, char **error);

/* The probe's state (ABI 1.1): {"type": "liveness|readiness|startup",
   "result": "success|failure|unknown" (the published result), "onHold": false, "attempts": N,
   "consecutive": {"result": "...", "count": N}, "lastAttempt": {"result": "...", "output": "the
   event text, e.g. the exec output or 'HTTP probe failed with statuscode: 500'", "warning": true,
   "errored": true, "handler": {lifehook_run's result}}, "stopped": false}. Free with lifehook_free. */
LIFEHOOK_API int lifehook_probe_state(lifehook_probe *probe, char **state_json);

/* Stops the probe and frees the handle (ABI 1.1). An attempt in flight is canceled (its process
   tree killed). Blocks until no callback of this probe is running; none starts afterwards. May be
   called from the probe's own callback (the handle is freed when the call returns; the running
   callback must not use it after). After lifehook_ctx_free (which stops every probe of the
   context and makes lifehook_probe_state return the last state) it only frees the handle.
   NULL is a no-op. */
LIFEHOOK_API void lifehook_probe_stop(lifehook_probe *probe);

/* ---- Pod validation and host-set conditions (ABI 1.1) ---------------------------------- */

/* Validates a pod exactly as lifehook_pod_create with the same arguments would (same rules, same
   messages), but reports every problem at once, and every warning: a field that neither the engine
   nor the driver implements, which a created pod ignores (its status lists the same warnings in its
   field "warnings"). Nothing is created or started. *report_json (free with lifehook_free):
     {"valid": true|false,
      "problems": [{"path": "spec.containers[0].name", "message": "is required"}, ...],
      "warnings": [{"path": "spec.containers[0].volumeMounts", "message": "..."}, ...]}
   Paths are JSON paths into the pod ("pod" for the document itself) or "options.<field>".
   Returns LIFEHOOK_OK when the pod is valid (warnings may be present); otherwise the status
   lifehook_pod_create would return for the first problem (LIFEHOOK_E_INVALID, LIFEHOOK_E_UNSUPPORTED),
   with the report set. A NULL ctx, pod_json or report_json is LIFEHOOK_E_INVALID with *report_json NULL. */
LIFEHOOK_API int lifehook_pod_validate(lifehook_ctx *ctx, const char *pod_json, const char *options_json,
                                       const lifehook_driver *driver, char **report_json);

/* Sets a pod condition from the host, as a controller patches one through the API, for the pod's
   readinessGates. condition_json (reason and message optional):
     {"type": "example.com/feature-1", "status": "True"|"False"|"Unknown", "reason": "...", "message": "..."}
   The pod is Ready only when every condition its spec.readinessGates names is "True"; until set, the
   Ready condition says 'corresponding condition of pod readiness gate "X" does not exist.'. The
   condition appears in the status with its lastTransitionTime. The conditions the kubelet owns
   (PodScheduled, Initialized, ContainersReady, Ready, PodReadyToStartContainers) cannot be set:
   LIFEHOOK_E_INVALID, as for a type that is not a qualified name, another status, or a 65th
   distinct type (a pod holds at most 64). */
LIFEHOOK_API int lifehook_pod_set_condition(lifehook_pod *pod, const char *condition_json);

/* ---- Pods that outlive their host (ABI 1.1) ---------------------------------------------- */

/* Takes over a pod that another process created with options "podStateDir": "/abs/dir" and that
   was left behind when that process ended (a restart, kill -9, a crash), as the kubelet adopts
   the containers of its runtime after a restart. Only the oci driver's pods can be adopted: its
   containers outlive their host (each runs under a lifehook-monitor that records its exit); the
   process driver's die with their host (lifehook_pod_create refuses podStateDir for it,
   LIFEHOOK_E_UNSUPPORTED). With podStateDir the pod's state (the Pod, its options, and per
   container: instance, role, state, exit code, restart count, whether an init container
   completed) is written atomically at every change to <podStateDir>/pod.json, and the directory
   is locked for the process holding the pod; lifehook_pod_destroy removes the state (nothing is
   left to adopt).
   The adopted pod is running when this returns (do not call lifehook_pod_start: LIFEHOOK_E_STATE):
   running containers resume (probes start again, terminate runs their preStop and grace as for
   any), completed init containers are not run again, an exit that happened while no host was
   there is reported with its exit code (the container restarts if restartPolicy says so),
   restart counts go on. The events of the previous host are not kept.
   options_json: NULL for the options the pod was created with; an object's fields replace them.
   driver must be NULL (LIFEHOOK_E_UNSUPPORTED otherwise). Errors: LIFEHOOK_E_NOT_FOUND when
   state_dir holds no pod state, LIFEHOOK_E_INVALID when it is not one lifehook wrote (or
   state_dir is not absolute), LIFEHOOK_E_STATE when another process holds the directory. */
LIFEHOOK_API int lifehook_pod_adopt(lifehook_ctx *ctx, const char *state_dir, const char *options_json,
                                    const lifehook_driver *driver, lifehook_pod **out, char **error);

/* ---- Live updates (ABI 1.1) --------------------------------------------------------------- */

/* Applies a new definition to a created pod, as the kubelet applies a changed pod. pod_json is the
   whole Pod, as for lifehook_pod_create. A running container or sidecar whose definition changed (any
   field of its Container) is stopped with its preStop hook and the pod's grace (Normal event Killing,
   message "Container X definition changed, will be restarted") and started again at once with the new
   one, whatever the restartPolicy, its restartCount counting up; one waiting in CrashLoopBackOff starts
   at once; unchanged containers, regular init containers (a completed one never runs again) and
   containers done for good are left alone (a later start uses the new definition). May change: every
   field of a container but its name and an init container's restartPolicy; spec.activeDeadlineSeconds
   (set, or shortened). May not change (LIFEHOOK_E_INVALID, *error naming the field path, such as the
   message spec.containers: containers may not be added or removed on a running pod): adding, removing,
   renaming or reordering containers, metadata.name/namespace/uid, and every other spec field
   (restartPolicy, terminationGracePeriodSeconds, readinessGates, ...). The pod's driver validates the
   new definition as at creation. Returns at once; LIFEHOOK_E_STATE for a pod that is terminating or
   has completed. error: as lifehook_pod_create's (free with lifehook_free; may be NULL). */
LIFEHOOK_API int lifehook_pod_update(lifehook_pod *pod, const char *pod_json, char **error);

/* ---- Function table for hosts that dlopen ------------------------------------------------ */

/* Grows only at the end; check struct_size before using a member added after your build. */
struct lifehook_api {
  uint32_t struct_size;
  uint32_t abi_version;
  uint32_t (*abi_version_fn)(void);
  const char *(*version)(void);
  const char *(*status_name)(int status);
  int (*ctx_new)(const char *options_json, lifehook_ctx **out, char **error);
  void (*ctx_free)(lifehook_ctx *ctx);
  int (*ctx_set_logger)(lifehook_ctx *ctx, lifehook_log_fn fn, void *user, int min_level);
  int (*run)(lifehook_ctx *ctx, const char *request_json, char **result_json, char **error);
  int (*submit)(lifehook_ctx *ctx, const char *request_json, lifehook_done_fn done, void *user, uint64_t *op,
                char **error);
  int (*cancel)(lifehook_ctx *ctx, uint64_t op);
  void (*free_fn)(void *p);
  int (*pod_create)(lifehook_ctx *ctx, const char *pod_json, const char *options_json, const lifehook_driver *driver,
                    lifehook_pod **out, char **error);
  int (*pod_start)(lifehook_pod *pod);
  int (*pod_terminate)(lifehook_pod *pod, int64_t grace_ms);
  int (*pod_wait)(lifehook_pod *pod, int64_t timeout_ms);
  int (*pod_status)(lifehook_pod *pod, char **status_json);
  int (*pod_watch)(lifehook_pod *pod, lifehook_event_fn fn, void *user);
  int (*pod_container_exited)(lifehook_pod *pod, const char *container_name, int exit_code, int signal);
  void (*pod_destroy)(lifehook_pod *pod);
  /* ABI 1.1 */
  int (*probe_start)(lifehook_ctx *ctx, const char *probe_json, const char *target_json, lifehook_probe_fn fn,
                     void *user, lifehook_probe **probe, char **error);
  int (*probe_state)(lifehook_probe *probe, char **state_json);
  void (*probe_stop)(lifehook_probe *probe);
  int (*pod_validate)(lifehook_ctx *ctx, const char *pod_json, const char *options_json, const lifehook_driver *driver,
                      char **report_json);
  int (*pod_set_condition)(lifehook_pod *pod, const char *condition_json);
  int (*pod_adopt)(lifehook_ctx *ctx, const char *state_dir, const char *options_json, const lifehook_driver *driver,
                   lifehook_pod **out, char **error);
  int (*pod_update)(lifehook_pod *pod, const char *pod_json, char **error);
};

/* The table of every function above (and those added later), for abi_major == 1; NULL otherwise. */
LIFEHOOK_API const struct lifehook_api *lifehook_get_api(uint32_t abi_major);

#ifdef __cplusplus
}
#endif

#endif /* LIFEHOOK_H */
