"""Context, Result and Operation: one lifehook_ctx and the handlers run on it.

Callback ownership: the C side never holds a Python object. Every callback handed to the library is a
module-level ctypes trampoline (alive for the life of the process) and its `user` pointer is an integer
token into a table of this module; the entry is dropped when the library has called it for the last
time (a completion is called exactly once, also on cancel and on close()).
"""
import asyncio
import ctypes
import itertools
import json
import threading

from . import _native
from .errors import error_for

_tokens = itertools.count(1)
_pending_lock = threading.Lock()
_pending = {}  # token -> Operation


def _encode(doc):
    if doc is None:
        return None
    if isinstance(doc, (bytes, bytearray)):
        return bytes(doc)
    if isinstance(doc, str):
        return doc.encode()
    return json.dumps(doc).encode()


def check(rc, call, error=None):
    """Raises the LifehookError of a status; `error` is the char ** out-parameter, if any."""
    message = _native.take(error) if error is not None else None
    if rc != 0:
        raise error_for(rc, message or "", call)


class Result(dict):
    """A handler's result document (result.schema.json), with attribute access to its fields."""

    def __getattr__(self, name):
        key = {"duration_ms": "durationMs", "exit_code": "exitCode", "http_status": "httpStatus"}.get(name, name)
        try:
            return self[key]
        except KeyError:
            if key in ("outcome", "message"):
                raise AttributeError(name) from None
            return None

    @property
    def succeeded(self):
        return self.get("outcome") == "success"


@_native.DONE_FN
def _on_done(user, op, result_json):
    with _pending_lock:
        operation = _pending.pop(user or 0, None)
    if operation is not None:
        operation._complete(Result(json.loads(result_json.decode("utf-8", "replace")) if result_json else {}))


@_native.LOG_FN
def _on_log(user, level, message):
    ctx = Context._by_token.get(user or 0)
    if ctx is not None and ctx._logger is not None:
        try:
            ctx._logger(level, message.decode("utf-8", "replace"))
        except Exception:  # a logger's exception must not unwind into the library's thread
            pass


class Operation:
    """A submitted handler: wait with result(), stop with cancel(). The callback (if any) runs on a
    library thread, exactly once; it must not block and must not close the context."""

    def __init__(self, ctx, callback):
        self._ctx = ctx
        self._callback = callback
        self._event = threading.Event()
        self._result = None
        self.id = 0

    def _complete(self, result):
        self._result = result
        self._event.set()
        if self._callback is not None:
            try:
                self._callback(result)
            except Exception:
                pass

    def done(self):
        return self._event.is_set()

    def result(self, timeout=None):
        """The Result; TimeoutError when timeout (seconds) passes first."""
        if not self._event.wait(timeout):
            raise TimeoutError("operation %d still running" % self.id)
        return self._result

    def cancel(self):
        """Asks the library to cancel; False when the operation had already completed."""
        return self._ctx.cancel(self.id)


class Context:
    """A lifehook context (lifehook_ctx): an event loop on a few library threads and everything on it.

    options: context-options.schema.json (threads, logLevel, maxOutputBytes, userAgent, kubeletCompat,
    verifyTLS). logger: callable(level, message), called on library threads, for lines >= log_level.
    """

    _by_token = {}

    def __init__(self, options=None, logger=None, log_level=3):
        lib = _native.lib()
        handle, error = _native.ctx_p(), ctypes.c_void_p()
        check(lib.lifehook_ctx_new(_encode(options), ctypes.byref(handle), ctypes.byref(error)), "lifehook_ctx_new",
              error)
        self._handle = handle
        self._logger = logger
        self._token = next(_tokens)
        self._pods = []
        self._probes_lock = threading.Lock()  # a probe's stop() may run on a library thread
        self._probes = set()
        self._closing = False
        if logger is not None:
            Context._by_token[self._token] = self
            check(lib.lifehook_ctx_set_logger(handle, _on_log, self._token, log_level), "lifehook_ctx_set_logger")

    @staticmethod
    def abi_version():
        """(major, minor) of the loaded library."""
        v = _native.lib().lifehook_abi_version()
        return v >> 16, v & 0xFFFF

    @staticmethod
    def library_version():
        return _native.lib().lifehook_version().decode()

    def _require_open(self):
        if self._handle is None:
            raise ValueError("the lifehook Context is closed")
        return self._handle

    def run(self, request):
        """Runs one handler (request.schema.json, a dict or JSON text) and returns its Result.
        Raises InvalidError (with the JSON path in its message) for a bad request."""
        handle = self._require_open()
        result, error = ctypes.c_void_p(), ctypes.c_void_p()
        rc = _native.lib().lifehook_run(handle, _encode(request), ctypes.byref(result), ctypes.byref(error))
        text = _native.take(result)
        check(rc, "lifehook_run", error)
        return Result(json.loads(text) if text else {})

    def submit(self, request, callback=None):
        """Starts one handler; returns its Operation. callback(result), if given, runs on a library thread."""
        handle = self._require_open()
        operation = Operation(self, callback)
        token = next(_tokens)
        with _pending_lock:
            _pending[token] = operation
        op, error = ctypes.c_uint64(), ctypes.c_void_p()
        rc = _native.lib().lifehook_submit(handle, _encode(request), _on_done, token, ctypes.byref(op),
                                           ctypes.byref(error))
        if rc != 0:
            with _pending_lock:
                _pending.pop(token, None)
            check(rc, "lifehook_submit", error)
        operation.id = op.value
        return operation

    async def run_async(self, request):
        """asyncio: awaits the result of a submitted handler without blocking the loop. Cancelling the
        awaiting task cancels the operation (the library kills and reaps its processes)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def deliver(result):
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(result))

        operation = self.submit(request, deliver)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            operation.cancel()
            raise

    def cancel(self, op_id):
        """Cancels an operation by id; False when it is unknown or already completed."""
        rc = _native.lib().lifehook_cancel(self._require_open(), op_id)
        if rc == 3:
            return False
        check(rc, "lifehook_cancel")
        return True

    def pod(self, pod, options=None, driver=None):
        """Creates a Pod (Kubernetes v1 Pod dict or JSON); driver: a lifehook.Driver for host-owned containers."""
        from .pod import Pod

        p = Pod(self, pod, options, driver)
        self._pods.append(p)
        return p

    def validate_pod(self, pod, options=None, driver=None):
        """Validates a pod exactly as pod() with the same arguments would (ABI 1.1): the same rules and
        messages, but every problem at once. Nothing is created or started and no driver method is called
        (driver only tells which fields the host's containers implement). Returns the report
        {"valid": True, "problems": [], "warnings": [{"path": ..., "message": ...}, ...]}: warnings are
        fields neither the engine nor the driver implements, which a created pod ignores. An invalid pod
        raises the error pod() would (InvalidError or UnsupportedError, its message the first problem),
        carrying the whole report as .report. UnsupportedError with a 1.0 library."""
        from .pod import validate

        return validate(self, pod, options, driver)

    def start_probe(self, probe, target=None, on_change=None):
        """Starts a standalone probe (ABI 1.1) and returns its Probe.

        probe: one Kubernetes Probe under its Container field name, a dict or JSON text, e.g.
        {"readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}} (Kubernetes fields, defaults
        and validation: InvalidError names the field path and the value). target: a request's "target"
        ({"podIP": "127.0.0.1", ...}). on_change(state dict), if given, runs on a library thread on every
        change of the published result, the initial one included (readiness starts "failure", liveness
        "success", startup "unknown"); it may call the probe's state() and stop(), must not block for long
        nor close the context. UnsupportedError with a 1.0 library.
        """
        from .probe import Probe

        return Probe(self, probe, target, on_change)

    def _add_probe(self, probe):
        with self._probes_lock:
            if self._closing:
                raise ValueError("the lifehook Context is closed")
            self._probes.add(probe)

    def _remove_probe(self, probe):
        with self._probes_lock:
            self._probes.discard(probe)

    def close(self):
        """Stops the probes, destroys the pods, cancels all work, kills and reaps every child, joins the
        library's threads."""
        if self._handle is None:
            return
        with self._probes_lock:
            self._closing = True
            probes = list(self._probes)
        for p in probes:
            p.stop()
            p._stopped.wait()  # also a stop() under way on another thread
        for p in self._pods:
            p.destroy()
        self._pods.clear()
        _native.lib().lifehook_ctx_free(self._handle)
        self._handle = None
        Context._by_token.pop(self._token, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
