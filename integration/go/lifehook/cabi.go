package lifehook

/*
#cgo pkg-config: lifehook
#include <stdlib.h>
#include <lifehook/lifehook.h>
#include "shim.h"

// Compile-time check: the header this package is built against must be ABI 1.x with x at least what
// this package declares (1.1: standalone probes; older headers lack them; a newer major is another
// package). The loaded library may still be 1.0: the 1.1 calls go through lifehook_get_api (shim.c).
#if !defined(LIFEHOOK_ABI_MAJOR) || LIFEHOOK_ABI_MAJOR != 1 || LIFEHOOK_ABI_MINOR < 1
#error "lifehook.io/lifehook needs lifehook.h with LIFEHOOK_ABI_MAJOR 1 and LIFEHOOK_ABI_MINOR 1 or later (liblifehook-dev 1.1)"
#endif
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// ABIMajor and ABIMinorRequired: the library ABI this package is written for (major, minimum minor).
// A 1.0 library is usable; only StartProbe needs 1.1 and returns ErrUnsupported on 1.0.
const (
	ABIMajor         = 1
	ABIMinorRequired = 0
	// HeaderABIMinor is LIFEHOOK_ABI_MINOR of the header this package was compiled against.
	HeaderABIMinor = int(C.LIFEHOOK_ABI_MINOR)
)

// VersionError: the loaded liblifehook's ABI is not one this package can use.
type VersionError struct {
	Major, Minor         int // of the loaded library
	WantMajor, WantMinor int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("lifehook: loaded liblifehook has ABI %d.%d; this package needs %d.%d or a later %d.x",
		e.Major, e.Minor, e.WantMajor, e.WantMinor, e.WantMajor)
}

// ABIVersion returns the (major, minor) ABI of the loaded library.
func ABIVersion() (major, minor int) {
	v := uint32(C.lifehook_abi_version())
	return int(v >> 16), int(v & 0xffff)
}

// LibraryVersion returns the loaded library's version string, e.g. "1.1.0".
func LibraryVersion() string { return C.GoString(C.lifehook_version()) }

var versionOnce sync.Once
var versionErr error

// CheckVersion returns a *VersionError when the loaded library's ABI is not usable by this package.
// Every constructor calls it; call it yourself to fail early.
func CheckVersion() error {
	versionOnce.Do(func() {
		major, minor := ABIVersion()
		if major != ABIMajor || minor < ABIMinorRequired {
			versionErr = &VersionError{major, minor, ABIMajor, ABIMinorRequired}
		}
	})
	return versionErr
}

// take copies a library-owned string and releases it with lifehook_free.
func take(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.lifehook_free(unsafe.Pointer(p))
	return s
}

// cstring is C.CString for a possibly empty optional document (nil for "").
func cstring(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func freeC(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// check turns a status and the library's error out-parameter into an *Error (nil for LIFEHOOK_OK).
func check(rc C.int, call string, errp *C.char) error {
	msg := take(errp)
	if rc == C.LIFEHOOK_OK {
		return nil
	}
	return &Error{Status: Status(rc), Call: call, Message: msg}
}
