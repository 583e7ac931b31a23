package lifehook

/*
#include <lifehook/lifehook.h>
*/
import "C"

import "fmt"

// Status is a lifehook_status code.
type Status int

// The status codes of the C ABI.
const (
	StatusOK          Status = C.LIFEHOOK_OK
	StatusInvalid     Status = C.LIFEHOOK_E_INVALID
	StatusState       Status = C.LIFEHOOK_E_STATE
	StatusNotFound    Status = C.LIFEHOOK_E_NOT_FOUND
	StatusUnsupported Status = C.LIFEHOOK_E_UNSUPPORTED
	StatusSystem      Status = C.LIFEHOOK_E_SYSTEM
	StatusNoMem       Status = C.LIFEHOOK_E_NOMEM
)

// String is the status name, e.g. "LIFEHOOK_E_INVALID" (lifehook_status_name).
func (s Status) String() string { return C.GoString(C.lifehook_status_name(C.int(s))) }

// Error is a call that returned a status other than LIFEHOOK_OK. Message is the library's one-line
// text, which names the JSON path and the value at fault. errors.Is(err, ErrInvalid) (and the other
// sentinels) compares statuses.
type Error struct {
	Status  Status
	Call    string // e.g. "lifehook_run"
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s: %s", e.Call, e.Status)
	}
	return fmt.Sprintf("%s: %s: %s", e.Call, e.Status, e.Message)
}

// Is reports whether target is an *Error with the same Status (Call and Message are ignored).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status
}

// Sentinels for errors.Is.
var (
	ErrInvalid     = &Error{Status: StatusInvalid}
	ErrState       = &Error{Status: StatusState}
	ErrNotFound    = &Error{Status: StatusNotFound}
	ErrUnsupported = &Error{Status: StatusUnsupported}
	ErrSystem      = &Error{Status: StatusSystem}
	ErrNoMem       = &Error{Status: StatusNoMem}
)
