"""Probe (lifehook_probe, ABI 1.1): a standalone liveness, readiness or startup probe of a container the
host owns, run by the library with the kubelet's rules (pkg/kubelet/prober/worker.go).

As in context.py, the library holds no Python object: the change callback is a module-level trampoline
whose `user` is an integer token; a Probe's entry is dropped once lifehook_probe_stop() has returned (no
callback of the probe runs after that). Context.close() stops the probes still running.
"""
import ctypes
import itertools
import json
import threading

from . import _native
from .context import _encode, check
from .errors import UnsupportedError

_tokens = itertools.count(1)
_lock = threading.Lock()
_probes = {}  # token -> Probe
_NO_CALLBACK = _native.PROBE_FN()  # a NULL lifehook_probe_fn: the host polls state()


@_native.PROBE_FN
def _on_change(user, probe, state_json):
    with _lock:
        p = _probes.get(user or 0)
    if p is not None:
        p._deliver(state_json.decode("utf-8", "replace") if state_json else "{}")


class Probe:
    """A running probe. Create with Context.start_probe(); stop with stop() or as a context manager.

    state() and stop() are safe from any thread and from the on_change callback itself.
    """

    def __init__(self, ctx, probe, target=None, on_change=None):
        lib = _native.lib()
        if not _native.has("lifehook_probe_start"):
            major, minor = ctx.abi_version()
            raise UnsupportedError(4, "the loaded liblifehook has ABI %d.%d; standalone probes need 1.1"
                                   % (major, minor), "lifehook_probe_start")
        self._ctx = ctx
        self._on_change = on_change
        self._lock = threading.Lock()  # guards _handle: state() reads it, stop() clears it
        self._handle = None
        self._stopping = False
        self._ready = threading.Event()  # set when __init__ is done: callbacks wait for it
        self._stopped = threading.Event()  # set when the first stop() has returned
        self._token = next(_tokens) if on_change is not None else 0
        try:
            ctx._add_probe(self)
            if self._token:
                with _lock:
                    _probes[self._token] = self
            handle, error = _native.probe_p(), ctypes.c_void_p()
            with self._lock:  # a stop() from close() waits until the handle is known
                rc = lib.lifehook_probe_start(ctx._require_open(), _encode(probe), _encode(target),
                                              _on_change if self._token else _NO_CALLBACK, self._token,
                                              ctypes.byref(handle), ctypes.byref(error))
                if rc == 0:
                    self._handle = handle
            check(rc, "lifehook_probe_start", error)
        except BaseException:
            self._forget()
            raise
        finally:
            self._ready.set()

    def _deliver(self, text):
        self._ready.wait()  # the first change may come before __init__ returned
        try:
            self._on_change(json.loads(text))
        except Exception:  # a callback's exception must not unwind into the library's thread
            pass

    def state(self):
        """The state document as a dict: {"type": "liveness|readiness|startup", "result":
        "success|failure|unknown" (the published result), "onHold", "attempts", "consecutive":
        {"result", "count"}, "lastAttempt": {"result", "output" (the kubelet's event text), "warning",
        "errored", "handler": a Result}, "stopped"}. ValueError after stop()."""
        out = ctypes.c_void_p()
        with self._lock:
            if self._handle is None:
                raise ValueError("the lifehook Probe is stopped")
            rc = _native.lib().lifehook_probe_state(self._handle, ctypes.byref(out))
        text = _native.take(out)
        check(rc, "lifehook_probe_state")
        return json.loads(text)

    def stop(self):
        """Stops the probe (an attempt in flight is canceled, its processes killed) and releases it. The
        first call blocks until no on_change of the probe runs (none starts afterwards), except from
        on_change itself, which returns at once; later calls return at once."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            handle, self._handle = self._handle, None
        if handle is not None:
            _native.lib().lifehook_probe_stop(handle)  # ctypes releases the GIL: a running callback finishes
        self._forget()
        self._stopped.set()

    def _forget(self):
        with _lock:
            _probes.pop(self._token, None)
        self._ctx._remove_probe(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
