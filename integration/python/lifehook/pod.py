"""Pod (lifehook_pod) and Driver, the base class of host-owned containers.

As in context.py, the library holds no Python object: the event and driver callbacks are module-level
trampolines whose `user` is an integer token; a Pod's entries are dropped after lifehook_pod_destroy()
has returned (no callback of the pod runs after that).
"""
import ctypes
import errno
import itertools
import json
import threading

from . import _native
from .context import _encode, check
from .errors import StateError, UnsupportedError, error_for

_tokens = itertools.count(1)
_lock = threading.Lock()
_watchers = {}  # token -> callable(event dict)
_drivers = {}  # token -> Driver


class Driver:
    """Host-owned containers: subclass and override. Methods run on library threads.

    start(pod_uid, container) -> None or {"pid": N, "podIP": "..."}: start one container (a Kubernetes
    Container dict); report its exit later with Pod.container_exited(). signal(pod_uid, name, signo) and
    remove(pod_uid, name). Raise OSError(errno, text) (or any exception: EIO) to report a failure.
    """

    def start(self, pod_uid, container):
        raise OSError(errno.ENOTSUP, "start is not implemented by this driver")

    def signal(self, pod_uid, name, signo):
        raise OSError(errno.ENOTSUP, "signal is not implemented by this driver")

    def remove(self, pod_uid, name):
        return None


def _driver_call(user, error, fn):
    driver = _drivers.get(user or 0)
    if driver is None:
        return errno.ESRCH
    try:
        fn(driver)
        return 0
    except Exception as e:  # reported to the library as an errno-like value and a message
        if error:
            error[0] = _native.malloc_string("%s: %s" % (type(e).__name__, e))
        return e.errno if isinstance(e, OSError) and e.errno else errno.EIO


@_native.START_FN
def _start(user, pod_uid, container_json, info_json, error):
    def call(driver):
        info = driver.start(pod_uid.decode(), json.loads(container_json.decode()))
        if info is not None and info_json:
            info_json[0] = _native.malloc_string(json.dumps(info))

    return _driver_call(user, error, call)


@_native.SIGNAL_FN
def _signal(user, pod_uid, name, signo):
    return _driver_call(user, None, lambda d: d.signal(pod_uid.decode(), name.decode(), signo))


@_native.REMOVE_FN
def _remove(user, pod_uid, name):
    return _driver_call(user, None, lambda d: d.remove(pod_uid.decode(), name.decode()))


@_native.EVENT_FN
def _on_event(user, event_json):
    fn = _watchers.get(user or 0)
    if fn is not None:
        try:
            fn(json.loads(event_json.decode("utf-8", "replace")))
        except Exception:  # a watcher's exception must not unwind into the library's thread
            pass


def _driver_struct(driver):
    """(token, struct lifehook_driver) calling `driver`; the caller drops the token from _drivers."""
    token = next(_tokens)
    with _lock:
        _drivers[token] = driver
    s = _native.Driver()
    s.struct_size = ctypes.sizeof(_native.Driver)
    s.user = token
    s.start, s.signal, s.remove = _start, _signal, _remove
    return token, s


def _require_1_1(ctx, name):
    if not _native.has(name):
        major, minor = ctx.abi_version()
        raise UnsupportedError(4, "the loaded liblifehook has ABI %d.%d; %s needs 1.1" % (major, minor, name), name)


def validate(ctx, pod, options=None, driver=None):
    """Context.validate_pod()."""
    lib = _native.lib()
    _require_1_1(ctx, "lifehook_pod_validate")
    token, driver_p = 0, None
    if driver is not None:
        token, s = _driver_struct(driver)
        driver_p = ctypes.pointer(s)
    try:
        out = ctypes.c_void_p()
        rc = lib.lifehook_pod_validate(ctx._require_open(), _encode(pod), _encode(options), driver_p,
                                       ctypes.byref(out))
        text = _native.take(out)
    finally:
        with _lock:
            _drivers.pop(token, None)
    report = json.loads(text) if text else None
    if rc != 0:
        problems = (report or {}).get("problems") or [{}]
        first = problems[0]
        message = "%s: %s" % (first["path"], first["message"]) if "path" in first else ""
        e = error_for(rc, message, "lifehook_pod_validate")
        e.report = report
        raise e
    return report


class Pod:
    """The node-side lifecycle of one Kubernetes Pod. Create with Context.pod()."""

    def __init__(self, ctx, pod, options=None, driver=None):
        self._ctx = ctx
        self._tokens = []
        self._driver_struct = None
        lib = _native.lib()
        driver_p = None
        if driver is not None:
            token, self._driver_struct = _driver_struct(driver)
            self._tokens.append(token)
            driver_p = ctypes.pointer(self._driver_struct)
        handle, error = _native.pod_p(), ctypes.c_void_p()
        rc = lib.lifehook_pod_create(ctx._require_open(), _encode(pod), _encode(options), driver_p,
                                     ctypes.byref(handle), ctypes.byref(error))
        if rc != 0:
            self._release_tokens()
        check(rc, "lifehook_pod_create", error)
        self._handle = handle

    def _require_open(self):
        if self._handle is None:
            raise ValueError("the lifehook Pod is destroyed")
        return self._handle

    def start(self):
        check(_native.lib().lifehook_pod_start(self._require_open()), "lifehook_pod_start")

    def status(self):
        """The pod status document (pod-status.schema.json) as a dict."""
        out = ctypes.c_void_p()
        rc = _native.lib().lifehook_pod_status(self._require_open(), ctypes.byref(out))
        text = _native.take(out)
        check(rc, "lifehook_pod_status")
        return json.loads(text)

    def watch(self, callback):
        """callback(event dict) for every event of the pod, past ones first, in order, on a library thread."""
        token = next(_tokens)
        with _lock:
            _watchers[token] = callback
        self._tokens.append(token)
        check(_native.lib().lifehook_pod_watch(self._require_open(), _on_event, token), "lifehook_pod_watch")

    def set_condition(self, condition_type, status, reason=None, message=None):
        """Sets a pod condition from the host (ABI 1.1), as a controller patches one through the API, for
        the pod's spec.readinessGates: the pod is Ready only when every gate's condition is "True".
        status: "True", "False" or "Unknown" (a bool is spelt for you); the library sets its
        lastTransitionTime. The kubelet's own conditions (Ready, ContainersReady, ...), a type that is not
        a qualified name or another status raise InvalidError; a 1.0 library UnsupportedError."""
        _require_1_1(self._ctx, "lifehook_pod_set_condition")
        if isinstance(status, bool):
            status = "True" if status else "False"
        condition = {"type": condition_type, "status": status}
        if reason is not None:
            condition["reason"] = reason
        if message is not None:
            condition["message"] = message
        check(_native.lib().lifehook_pod_set_condition(self._require_open(), _encode(condition)),
              "lifehook_pod_set_condition")

    def terminate(self, grace_ms=-1):
        """Stops the pod (preStop hooks within the grace period); blocks until every container stopped."""
        check(_native.lib().lifehook_pod_terminate(self._require_open(), int(grace_ms)), "lifehook_pod_terminate")

    def wait(self, timeout=None):
        """Waits for Succeeded/Failed or termination; False when timeout (seconds) passed first."""
        ms = -1 if timeout is None else int(timeout * 1000)
        try:
            check(_native.lib().lifehook_pod_wait(self._require_open(), ms), "lifehook_pod_wait")
        except StateError:
            return False
        return True

    def container_exited(self, name, exit_code, signal=0):
        """For Driver hosts: one of the driver's containers exited."""
        check(_native.lib().lifehook_pod_container_exited(self._require_open(), name.encode(), exit_code, signal),
              "lifehook_pod_container_exited")

    def destroy(self):
        if self._handle is None:
            return
        _native.lib().lifehook_pod_destroy(self._handle)
        self._handle = None
        self._release_tokens()

    def _release_tokens(self):
        with _lock:
            for t in self._tokens:
                _watchers.pop(t, None)
                _drivers.pop(t, None)
        self._tokens.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()
