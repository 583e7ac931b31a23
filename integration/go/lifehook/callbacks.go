package lifehook

/*
#include <stdint.h>
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime/cgo"
	"syscall"
	"unsafe"
)

// The exported functions below are called by shim.c on the library's threads. Each receives the
// cgo.Handle that was given to the library as `user`; a completion's handle is deleted here, after the
// library's one and only call, the others when their pod, probe or context is released.

//export lifehookGoDone
func lifehookGoDone(h C.uintptr_t, op C.uint64_t, result *C.char) {
	handle := cgo.Handle(h)
	c := handle.Value().(*completion)
	handle.Delete()
	r := parseResult(C.GoString(result))
	if c.fn != nil {
		c.fn(r)
	}
}

//export lifehookGoLog
func lifehookGoLog(h C.uintptr_t, level C.int, message *C.char) {
	if h == 0 {
		return
	}
	cgo.Handle(h).Value().(func(int, string))(int(level), C.GoString(message))
}

//export lifehookGoEvent
func lifehookGoEvent(h C.uintptr_t, event *C.char) {
	text := C.GoString(event)
	var e Event
	if err := json.Unmarshal([]byte(text), &e); err != nil {
		e = Event{Type: "Warning", Reason: "Unreadable", Message: err.Error()}
	}
	e.Raw = json.RawMessage(text)
	cgo.Handle(h).Value().(*watcher).fn(e)
}

//export lifehookGoProbe
func lifehookGoProbe(h C.uintptr_t, state *C.char) {
	p := cgo.Handle(h).Value().(*Probe)
	text := C.GoString(state)
	<-p.ready // the first change may come before StartProbe returned: Stop and State need the handle
	p.onChange(text)
}

// driverErrno maps a Driver's error to the errno-like value the C driver contract returns.
func driverErrno(err error, errp **C.char) C.int {
	if err == nil {
		return 0
	}
	if errp != nil {
		msg := C.CString(err.Error())
		*errp = C.lifehook_go_strdup(msg) // malloc'd: the library releases it with free()
		C.free(unsafe.Pointer(msg))
	}
	var errno syscall.Errno
	if errors.As(err, &errno) && errno != 0 {
		return C.int(errno)
	}
	return C.int(syscall.EIO)
}

func driverFor(h C.uintptr_t) *driverBox { return cgo.Handle(h).Value().(*driverBox) }

//export lifehookGoDriverStart
func lifehookGoDriverStart(h C.uintptr_t, podUID, container *C.char, info **C.char, errp **C.char) (rc C.int) {
	defer func() {
		if p := recover(); p != nil {
			rc = driverErrno(fmt.Errorf("Driver.Start panicked: %v", p), errp)
		}
	}()
	ci, err := driverFor(h).d.Start(C.GoString(podUID), json.RawMessage(C.GoString(container)))
	if err != nil {
		return driverErrno(err, errp)
	}
	if ci != nil && info != nil {
		b, _ := json.Marshal(ci)
		s := C.CString(string(b))
		*info = C.lifehook_go_strdup(s)
		C.free(unsafe.Pointer(s))
	}
	return 0
}

//export lifehookGoDriverSignal
func lifehookGoDriverSignal(h C.uintptr_t, podUID, name *C.char, signo C.int) (rc C.int) {
	defer func() {
		if p := recover(); p != nil {
			rc = C.int(syscall.EIO)
		}
	}()
	return driverErrno(driverFor(h).d.Signal(C.GoString(podUID), C.GoString(name), syscall.Signal(signo)), nil)
}

//export lifehookGoDriverRemove
func lifehookGoDriverRemove(h C.uintptr_t, podUID, name *C.char) (rc C.int) {
	defer func() {
		if p := recover(); p != nil {
			rc = C.int(syscall.EIO)
		}
	}()
	return driverErrno(driverFor(h).d.Remove(C.GoString(podUID), C.GoString(name)), nil)
}

func unsafe_pointer(p *C.char) unsafe.Pointer { return unsafe.Pointer(p) }
