#!/usr/bin/env python3
"""A Python host, as a node agent would be one: loads liblifehook.so.1 with ctypes and runs an httpGet
handler (against its own HTTP server on 127.0.0.1), exec handlers, a submitted handler with a
completion callback, and a pod of two containers. Every string the library returns is freed with
lifehook_free: the out-parameters are declared as void pointers, never c_char_p, so ctypes cannot
copy the string and lose the pointer. Prints one line per check and "N passed, M failed"."""
import ctypes
import http.server
import json
import sys
import threading

LIFEHOOK_OK, LIFEHOOK_E_INVALID = 0, 1

lib = ctypes.CDLL("liblifehook.so.1")
ctx_p, pod_p = ctypes.c_void_p, ctypes.c_void_p
out_str = ctypes.POINTER(ctypes.c_void_p)  # char ** out-parameter; the caller frees with lifehook_free
DONE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_char_p)
EVENT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)

for name, restype, argtypes in [
    ("lifehook_abi_version", ctypes.c_uint32, []),
    ("lifehook_version", ctypes.c_char_p, []),  # static storage: not freed
    ("lifehook_status_name", ctypes.c_char_p, [ctypes.c_int]),
    ("lifehook_ctx_new", ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(ctx_p), out_str]),
    ("lifehook_ctx_free", None, [ctx_p]),
    ("lifehook_run", ctypes.c_int, [ctx_p, ctypes.c_char_p, out_str, out_str]),
    ("lifehook_submit", ctypes.c_int,
     [ctx_p, ctypes.c_char_p, DONE_FN, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64), out_str]),
    ("lifehook_free", None, [ctypes.c_void_p]),
    ("lifehook_pod_create", ctypes.c_int,
     [ctx_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(pod_p), out_str]),
    ("lifehook_pod_watch", ctypes.c_int, [pod_p, EVENT_FN, ctypes.c_void_p]),
    ("lifehook_pod_start", ctypes.c_int, [pod_p]),
    ("lifehook_pod_wait", ctypes.c_int, [pod_p, ctypes.c_int64]),
    ("lifehook_pod_status", ctypes.c_int, [pod_p, out_str]),
    ("lifehook_pod_destroy", None, [pod_p]),
]:
    fn = getattr(lib, name)
    fn.restype, fn.argtypes = restype, argtypes

passed = failed = 0


def check(ok, name, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   - {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL - {name}: {detail}", flush=True)


def take(p):
    """Copies a library-owned string and frees it with lifehook_free."""
    if not p.value:
        return None
    text = ctypes.string_at(p.value).decode()
    lib.lifehook_free(p)
    return text


def status_name(rc):
    return lib.lifehook_status_name(rc).decode()


def run(ctx, request):
    result, error = ctypes.c_void_p(), ctypes.c_void_p()
    rc = lib.lifehook_run(ctx, json.dumps(request).encode(), ctypes.byref(result), ctypes.byref(error))
    result, error = take(result), take(error)
    return rc, (json.loads(result) if result else None), error


class Healthz(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 200 if self.path == "/healthz" else 500
        body = b"ok\n" if code == 200 else b"fail\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def check_handlers(ctx, port):
    rc, r, err = run(ctx, {"handler": {"httpGet": {"host": "127.0.0.1", "port": port, "path": "/healthz"}},
                           "timeoutMs": 5000})
    check(rc == LIFEHOOK_OK and r["outcome"] == "success" and r.get("httpStatus") == 200, "httpGet 200 succeeds",
          f"{status_name(rc)} {r} {err}")
    rc, r, err = run(ctx, {"handler": {"httpGet": {"host": "127.0.0.1", "port": port, "path": "/broken"}},
                           "timeoutMs": 5000})
    check(rc == LIFEHOOK_OK and r["outcome"] == "failure" and r.get("httpStatus") == 500, "httpGet 500 fails",
          f"{status_name(rc)} {r} {err}")
    rc, r, err = run(ctx, {"handler": {"exec": {"command": ["/bin/sh", "-c", "echo hello-from-python-host"]}},
                           "timeoutMs": 5000})
    check(rc == LIFEHOOK_OK and r["outcome"] == "success" and "hello-from-python-host" in r.get("output", ""),
          "exec succeeds with its output", f"{status_name(rc)} {r} {err}")
    rc, r, err = run(ctx, {"handler": {"exec": {"command": ["/bin/sh", "-c", "exit 7"]}}, "timeoutMs": 5000})
    check(rc == LIFEHOOK_OK and r["outcome"] == "failure" and r.get("exitCode") == 7, "exec exit 7 fails",
          f"{status_name(rc)} {r} {err}")
    rc, r, err = run(ctx, {"handler": {"tcpSocket": {"host": "127.0.0.1", "port": port}}, "timeoutMs": 5000})
    check(rc == LIFEHOOK_OK and r["outcome"] == "success", "tcpSocket succeeds", f"{status_name(rc)} {r} {err}")
    rc, r, err = run(ctx, {"handler": {"exec": {"command": "not-a-list"}}})
    check(rc == LIFEHOOK_E_INVALID and r is None and err and "command" in err,
          "an invalid request is refused naming the field", f"{status_name(rc)} {err}")


def check_submit(ctx):
    done = threading.Event()
    results = []

    @DONE_FN
    def on_done(user, op, result_json):  # runs on a library thread; ctypes takes the GIL
        results.append((op, json.loads(result_json.decode())))
        done.set()

    op, error = ctypes.c_uint64(), ctypes.c_void_p()
    request = {"handler": {"exec": {"command": ["/bin/true"]}}, "timeoutMs": 5000}
    rc = lib.lifehook_submit(ctx, json.dumps(request).encode(), on_done, None, ctypes.byref(op), ctypes.byref(error))
    err = take(error)
    check(rc == LIFEHOOK_OK and op.value != 0, "submit", f"{status_name(rc)} {err}")
    if rc == LIFEHOOK_OK:
        check(done.wait(10) and results[0][0] == op.value and results[0][1]["outcome"] == "success",
              "the completion callback ran once with the result", str(results))
    return on_done  # keep the callback alive until the context is freed


def check_pod(ctx):
    pod_json = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "python-host-pod"},
                "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 2, "containers": [
                    {"name": "first", "command": ["/bin/sh", "-c", "sleep 0.2"]},
                    {"name": "second", "command": ["/bin/sh", "-c", "sleep 0.3"]}]}}
    pod, error = pod_p(), ctypes.c_void_p()
    rc = lib.lifehook_pod_create(ctx, json.dumps(pod_json).encode(), b'{"driver": "process"}', None,
                                 ctypes.byref(pod), ctypes.byref(error))
    err = take(error)
    check(rc == LIFEHOOK_OK and pod.value, "pod created", f"{status_name(rc)} {err}")
    if rc != LIFEHOOK_OK:
        return
    events = []

    @EVENT_FN
    def on_event(user, event_json):
        events.append(json.loads(event_json.decode()))

    check(lib.lifehook_pod_watch(pod, on_event, None) == LIFEHOOK_OK, "pod watched")
    check(lib.lifehook_pod_start(pod) == LIFEHOOK_OK, "pod started")
    rc = lib.lifehook_pod_wait(pod, 20000)
    check(rc == LIFEHOOK_OK, "pod finished within 20 s", status_name(rc))
    status = ctypes.c_void_p()
    lib.lifehook_pod_status(pod, ctypes.byref(status))
    status = json.loads(take(status) or "{}")
    check(status.get("phase") == "Succeeded", "both containers ran: phase Succeeded", json.dumps(status))
    lib.lifehook_pod_destroy(pod)
    started = [e for e in events if e.get("reason") == "Started"]
    check(len(started) == 2, "one Started event per container", json.dumps(events))


def main():
    abi = lib.lifehook_abi_version()
    check(abi >> 16 == 1, "ABI major 1", hex(abi))
    print(f"     liblifehook {lib.lifehook_version().decode()}, ABI {abi >> 16}.{abi & 0xffff}")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ctx, error = ctx_p(), ctypes.c_void_p()
    rc = lib.lifehook_ctx_new(b'{"threads": 2}', ctypes.byref(ctx), ctypes.byref(error))
    err = take(error)
    check(rc == LIFEHOOK_OK, "context created", f"{status_name(rc)} {err}")
    if rc == LIFEHOOK_OK:
        check_handlers(ctx, server.server_address[1])
        keep = check_submit(ctx)
        check_pod(ctx)
        lib.lifehook_ctx_free(ctx)
        del keep
    server.shutdown()
    print(f"python-host: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
