"""lifehook: Kubernetes container lifecycle handlers and pod lifecycles, from Python.

A ctypes binding of liblifehook.so.1 (no compiled extension). Quick start::

    import lifehook
    with lifehook.Context() as ctx:
        r = ctx.run({"handler": {"exec": {"command": ["/bin/true"]}}})
        assert r.outcome == "success"

Requests, results, pod status and events are the JSON documents of the C ABI as dicts; their JSON
Schemas are in /usr/share/lifehook/schemas. Every failing call raises a LifehookError subclass
carrying .status, .status_name and .message.
"""
from .context import Context, Operation, Result
from .errors import (InvalidError, LifehookError, NoMemoryError, NotFoundError, StateError, SystemError,
                     UnsupportedError, VersionError)
from .pod import Driver, Pod

__all__ = ["Context", "Operation", "Result", "Pod", "Driver", "LifehookError", "InvalidError", "StateError",
           "NotFoundError", "UnsupportedError", "SystemError", "NoMemoryError", "VersionError", "abi_version",
           "version"]

__version__ = "1.1.0"


def abi_version():
    """(major, minor) of the loaded liblifehook."""
    return Context.abi_version()


def version():
    """Version string of the loaded liblifehook."""
    return Context.library_version()
