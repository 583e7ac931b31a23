"""The C ABI of liblifehook.so.1 as ctypes prototypes. The only module that knows the C signatures.

Out-parameters (char **) are void pointers, never c_char_p, so that ctypes cannot copy a string and
lose the pointer the library wants back in lifehook_free(). Functions of ABI minors newer than 1.0 are
looked up with has(): a binding built for 1.1 still loads a 1.0 library and says which call is missing.
"""
import ctypes
import ctypes.util
import os
import threading

from .errors import VersionError

#: The ABI this binding is written against (major, minimum minor).
ABI_MAJOR = 1
ABI_MINOR_REQUIRED = 0

ctx_p = ctypes.c_void_p
pod_p = ctypes.c_void_p
probe_p = ctypes.c_void_p
out_str = ctypes.POINTER(ctypes.c_void_p)

DONE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_char_p)
EVENT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
START_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, out_str, out_str)
SIGNAL_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int)
REMOVE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p)
PROBE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, probe_p, ctypes.c_char_p)


class Driver(ctypes.Structure):
    """struct lifehook_driver (struct_size first: later members are only read when the size covers them)."""
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("user", ctypes.c_void_p),
        ("start", START_FN),
        ("signal", SIGNAL_FN),
        ("remove", REMOVE_FN),
    ]


_PROTOTYPES = {
    "lifehook_abi_version": (ctypes.c_uint32, []),
    "lifehook_version": (ctypes.c_char_p, []),  # static storage: not freed
    "lifehook_status_name": (ctypes.c_char_p, [ctypes.c_int]),
    "lifehook_ctx_new": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(ctx_p), out_str]),
    "lifehook_ctx_free": (None, [ctx_p]),
    "lifehook_ctx_set_logger": (ctypes.c_int, [ctx_p, LOG_FN, ctypes.c_void_p, ctypes.c_int]),
    "lifehook_run": (ctypes.c_int, [ctx_p, ctypes.c_char_p, out_str, out_str]),
    "lifehook_submit": (ctypes.c_int, [ctx_p, ctypes.c_char_p, DONE_FN, ctypes.c_void_p,
                                       ctypes.POINTER(ctypes.c_uint64), out_str]),
    "lifehook_cancel": (ctypes.c_int, [ctx_p, ctypes.c_uint64]),
    "lifehook_free": (None, [ctypes.c_void_p]),
    "lifehook_pod_create": (ctypes.c_int, [ctx_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(Driver),
                                           ctypes.POINTER(pod_p), out_str]),
    "lifehook_pod_start": (ctypes.c_int, [pod_p]),
    "lifehook_pod_terminate": (ctypes.c_int, [pod_p, ctypes.c_int64]),
    "lifehook_pod_wait": (ctypes.c_int, [pod_p, ctypes.c_int64]),
    "lifehook_pod_status": (ctypes.c_int, [pod_p, out_str]),
    "lifehook_pod_watch": (ctypes.c_int, [pod_p, EVENT_FN, ctypes.c_void_p]),
    "lifehook_pod_container_exited": (ctypes.c_int, [pod_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]),
    "lifehook_pod_destroy": (None, [pod_p]),
}

# ABI 1.1: set when the loaded library exports them (has()).
_PROTOTYPES_1_1 = {
    "lifehook_probe_start": (ctypes.c_int, [ctx_p, ctypes.c_char_p, ctypes.c_char_p, PROBE_FN, ctypes.c_void_p,
                                            ctypes.POINTER(probe_p), out_str]),
    "lifehook_probe_state": (ctypes.c_int, [probe_p, out_str]),
    "lifehook_probe_stop": (None, [probe_p]),
    "lifehook_pod_validate": (ctypes.c_int, [ctx_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(Driver),
                                             out_str]),
    "lifehook_pod_set_condition": (ctypes.c_int, [pod_p, ctypes.c_char_p]),
}

_lock = threading.Lock()
_lib = None


def library_name():
    """LIFEHOOK_LIBRARY (a path or a soname) or the soname of ABI major 1."""
    return os.environ.get("LIFEHOOK_LIBRARY") or "liblifehook.so.%d" % ABI_MAJOR


def lib():
    """The loaded library, its prototypes set and its ABI checked (once per process)."""
    global _lib
    with _lock:
        if _lib is None:
            loaded = ctypes.CDLL(library_name())
            for name, (restype, argtypes) in _PROTOTYPES.items():
                fn = getattr(loaded, name)
                fn.restype, fn.argtypes = restype, argtypes
            for name, (restype, argtypes) in _PROTOTYPES_1_1.items():
                if hasattr(loaded, name):
                    fn = getattr(loaded, name)
                    fn.restype, fn.argtypes = restype, argtypes
            abi = loaded.lifehook_abi_version()
            major, minor = abi >> 16, abi & 0xFFFF
            if major != ABI_MAJOR or minor < ABI_MINOR_REQUIRED:
                raise VersionError(major, minor, ABI_MAJOR, ABI_MINOR_REQUIRED)
            _lib = loaded
        return _lib


def has(name):
    """Whether the loaded library exports `name` (an ABI 1.1+ function)."""
    return hasattr(lib(), name)


def take(p):
    """Copies a library-owned string out of a char ** out-parameter and frees it with lifehook_free."""
    if not p.value:
        return None
    try:
        return ctypes.string_at(p.value).decode("utf-8", "replace")
    finally:
        lib().lifehook_free(p)


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.strdup.restype = ctypes.c_void_p
_libc.strdup.argtypes = [ctypes.c_char_p]


def malloc_string(text):
    """A malloc'd copy of text, for out-parameters the library releases with free()."""
    return _libc.strdup(text.encode())
