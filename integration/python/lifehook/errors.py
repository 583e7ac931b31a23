"""Exceptions: every failing call raises a LifehookError carrying the status code, its name
(LIFEHOOK_E_INVALID, ...) and the library's one-line message (which names the JSON path and value)."""

STATUS_NAMES = {
    0: "LIFEHOOK_OK",
    1: "LIFEHOOK_E_INVALID",
    2: "LIFEHOOK_E_STATE",
    3: "LIFEHOOK_E_NOT_FOUND",
    4: "LIFEHOOK_E_UNSUPPORTED",
    5: "LIFEHOOK_E_SYSTEM",
    6: "LIFEHOOK_E_NOMEM",
}


class LifehookError(Exception):
    """A call returned a status other than LIFEHOOK_OK. .report: Context.validate_pod's whole report
    when that call raised it, else None."""

    report = None

    def __init__(self, status, message="", call=""):
        self.status = status
        self.status_name = STATUS_NAMES.get(status, "LIFEHOOK_E_UNKNOWN")
        self.message = message or ""
        self.call = call
        text = "%s: %s" % (call, self.status_name) if call else self.status_name
        super().__init__(text + (": " + self.message if self.message else ""))


class InvalidError(LifehookError, ValueError):
    """LIFEHOOK_E_INVALID: bad argument, JSON or spec."""


class StateError(LifehookError):
    """LIFEHOOK_E_STATE: the call is not valid in the object's state (also: a wait timed out)."""


class NotFoundError(LifehookError, LookupError):
    """LIFEHOOK_E_NOT_FOUND: unknown operation, container, ..."""


class UnsupportedError(LifehookError):
    """LIFEHOOK_E_UNSUPPORTED: not available on this system."""


class SystemError(LifehookError, OSError):  # noqa: A001 - the status is LIFEHOOK_E_SYSTEM
    """LIFEHOOK_E_SYSTEM: an operating system or resource error."""


class NoMemoryError(LifehookError, MemoryError):
    """LIFEHOOK_E_NOMEM."""


_BY_STATUS = {1: InvalidError, 2: StateError, 3: NotFoundError, 4: UnsupportedError, 5: SystemError,
              6: NoMemoryError}


def error_for(status, message="", call=""):
    return _BY_STATUS.get(status, LifehookError)(status, message, call)


class VersionError(ImportError):
    """The loaded liblifehook's ABI is not one this binding can use."""

    def __init__(self, major, minor, want_major, want_minor):
        self.major, self.minor = major, minor
        super().__init__("liblifehook ABI %d.%d loaded; this binding needs %d.%d or a later %d.x"
                         % (major, minor, want_major, want_minor, want_major))
