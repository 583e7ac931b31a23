"""lifehook: Kubernetes container lifecycle handlers and pod lifecycles, from Python.

A ctypes binding of liblifehook.so.1 (no compiled extension). Quick start::

    import lifehook
    with lifehook.Context() as ctx:
        r = ctx.run({"handler": {"exec": {"command": ["/bin/true"]}}})
        assert r.outcome == "success"

A standalone probe (ABI 1.1) calls back on every change of its published result::

    with ctx.start_probe({"readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}},
                         {"podIP": "127.0.0.1"}, on_change=lambda state: print(state["result"])) as probe:
        ...  # probe.state() is the whole state document

The API: Context (run, submit, run_async, cancel, pod, validate_pod, start_probe, close), Operation,
Result, Pod (start, status, watch, set_condition, terminate, wait, container_exited, destroy) with a
Driver for host-owned containers, Probe (state, stop).

Requests, results, pod status, events and probe states are the JSON documents of the C ABI as dicts;
their JSON Schemas are in /usr/share/lifehook/schemas. Every failing call raises a LifehookError
subclass carrying .status, .status_name and .message.
"""
from .context import Context, Operation, Result
from .errors import (InvalidError, LifehookError, NoMemoryError, NotFoundError, StateError, SystemError,
                     UnsupportedError, VersionError)
from .pod import Driver, Pod
from .probe import Probe

__all__ = ["Context", "Operation", "Result", "Pod", "Driver", "Probe", "LifehookError", "InvalidError",
           "StateError", "NotFoundError", "UnsupportedError", "SystemError", "NoMemoryError", "VersionError",
           "abi_version", "version"]

__version__ = "1.1.0"


def abi_version():
    """(major, minor) of the loaded liblifehook."""
    return Context.abi_version()


def version():
    """Version string of the loaded liblifehook."""
    return Context.library_version()
