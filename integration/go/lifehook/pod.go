package lifehook

/*
#include <stdlib.h>
#include <lifehook/lifehook.h>
#include "shim.h"
*/
import "C"

import (
	"encoding/json"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Driver runs host-owned containers (the lifehook_driver callbacks). Its methods are called on library
// threads. Start receives the pod's uid and the Kubernetes Container; the host reports each exit later
// with Pod.ContainerExited (also allowed from inside a Driver method). A returned syscall.Errno is
// passed on as is; any other error as EIO, its text in the pod's events.
type Driver interface {
	Start(podUID string, container json.RawMessage) (*ContainerInfo, error)
	Signal(podUID, name string, sig syscall.Signal) error
	Remove(podUID, name string) error
}

// ContainerInfo is what Driver.Start may tell about a started container, for its handlers.
type ContainerInfo struct {
	Pid   int    `json:"pid,omitempty"`
	PodIP string `json:"podIP,omitempty"`
}

type driverBox struct{ d Driver }
type watcher struct{ fn func(Event) }

// Pod is the node-side lifecycle of one Kubernetes Pod. Methods are safe for concurrent use.
type Pod struct {
	ctx        *Context
	mu         sync.RWMutex // Destroy takes it exclusively around lifehook_pod_destroy
	destroying atomic.Bool
	p          *C.lifehook_pod
	handlesMu  sync.Mutex   // not mu: a writer waiting on mu would block a Driver's ContainerExited
	handles    []cgo.Handle // driver and watchers: deleted after lifehook_pod_destroy returned
	cdriver    *C.lifehook_driver
}

// NewPod creates a pod from a Kubernetes v1 Pod (any JSON-marshalable value or JSON text).
// opts: *PodOptions, JSON, or nil. driver: nil for the built-in driver named in opts.
func (x *Context) NewPod(pod any, opts any, driver Driver) (*Pod, error) {
	podText, err := document(pod)
	if err != nil {
		return nil, err
	}
	optText, err := document(opts)
	if err != nil {
		return nil, err
	}
	cpod, copts := C.CString(podText), cstring(optText)
	defer C.free(unsafe.Pointer(cpod))
	defer freeC(copts)
	p := &Pod{ctx: x}
	if driver != nil {
		h := cgo.NewHandle(&driverBox{driver})
		p.handles = append(p.handles, h)
		p.cdriver = C.lifehook_go_driver_new(C.uintptr_t(h))
		if p.cdriver == nil {
			h.Delete()
			return nil, &Error{Status: StatusNoMem, Call: "lifehook_pod_create"}
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.c == nil {
		p.release()
		return nil, ErrClosed
	}
	var errp *C.char
	if err := check(C.lifehook_pod_create(x.c, cpod, copts, p.cdriver, &p.p, &errp), "lifehook_pod_create", errp); err != nil {
		p.release()
		return nil, err
	}
	x.pods[p] = struct{}{}
	return p, nil
}

// ValidationIssue is one entry of a ValidationReport: a JSON path into the pod ("pod" for the
// document itself, "options.<field>" for an option) and what is wrong with it or ignored there.
type ValidationIssue struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// ValidationReport is lifehook_pod_validate's verdict: every problem that NewPod would refuse, and
// every warning (a field neither the engine nor the driver implements, which a created pod ignores and
// lists in its status' "warnings").
type ValidationReport struct {
	Valid    bool              `json:"valid"`
	Problems []ValidationIssue `json:"problems"`
	Warnings []ValidationIssue `json:"warnings"`
	Raw      json.RawMessage   `json:"-"`
}

// ValidatePod checks a pod exactly as NewPod with the same arguments would (same rules, same
// messages), reporting every problem at once; nothing is created or started, and no Driver method is
// called (driver only tells which fields a host's containers implement). An invalid pod returns its
// report with the *Error NewPod would return (ErrInvalid or ErrUnsupported; its message is the first
// problem); a valid one a nil error, possibly with warnings. A 1.0 library gives ErrUnsupported.
func (x *Context) ValidatePod(pod any, opts any, driver Driver) (ValidationReport, error) {
	podText, err := document(pod)
	if err != nil {
		return ValidationReport{}, err
	}
	optText, err := document(opts)
	if err != nil {
		return ValidationReport{}, err
	}
	cpod, copts := C.CString(podText), cstring(optText)
	defer C.free(unsafe.Pointer(cpod))
	defer freeC(copts)
	var cdriver *C.lifehook_driver
	if driver != nil {
		h := cgo.NewHandle(&driverBox{driver})
		defer h.Delete()
		if cdriver = C.lifehook_go_driver_new(C.uintptr_t(h)); cdriver == nil {
			return ValidationReport{}, &Error{Status: StatusNoMem, Call: "lifehook_pod_validate"}
		}
		defer C.free(unsafe.Pointer(cdriver))
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.c == nil {
		return ValidationReport{}, ErrClosed
	}
	var out *C.char
	rc := C.lifehook_go_pod_validate(x.c, cpod, copts, cdriver, &out)
	text := take(out)
	var r ValidationReport
	if text != "" {
		if err := json.Unmarshal([]byte(text), &r); err != nil {
			return r, &Error{Status: StatusSystem, Call: "lifehook_pod_validate", Message: "unreadable report: " + err.Error()}
		}
		r.Raw = json.RawMessage(text)
	}
	if rc == C.LIFEHOOK_OK {
		return r, nil
	}
	e := &Error{Status: Status(rc), Call: "lifehook_pod_validate"}
	if len(r.Problems) > 0 {
		e.Message = r.Problems[0].Path + ": " + r.Problems[0].Message
	}
	return r, e
}

func (p *Pod) release() {
	p.handlesMu.Lock()
	defer p.handlesMu.Unlock()
	for _, h := range p.handles {
		h.Delete()
	}
	p.handles = nil
	if p.cdriver != nil {
		C.free(unsafe.Pointer(p.cdriver))
		p.cdriver = nil
	}
}

// with runs fn with the live pod handle, or returns ErrClosed.
func (p *Pod) with(fn func(*C.lifehook_pod) error) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.p == nil {
		return ErrClosed
	}
	return fn(p.p)
}

// Start starts the lifecycle and returns at once; follow it with Status and Watch.
func (p *Pod) Start() error {
	return p.with(func(c *C.lifehook_pod) error { return check(C.lifehook_pod_start(c), "lifehook_pod_start", nil) })
}

// StatusJSON returns the status document as the library wrote it.
func (p *Pod) StatusJSON() (string, error) {
	var text string
	err := p.with(func(c *C.lifehook_pod) error {
		var out *C.char
		rc := C.lifehook_pod_status(c, &out)
		text = take(out)
		return check(rc, "lifehook_pod_status", nil)
	})
	return text, err
}

// Status returns the pod status (phase, conditions, container statuses, kubectl columns).
func (p *Pod) Status() (PodStatus, error) {
	text, err := p.StatusJSON()
	if err != nil {
		return PodStatus{}, err
	}
	var s PodStatus
	err = json.Unmarshal([]byte(text), &s)
	s.Raw = json.RawMessage(text)
	return s, err
}

// Watch calls fn for every event of the pod, past ones first, in order, on a library thread.
func (p *Pod) Watch(fn func(Event)) error {
	h := cgo.NewHandle(&watcher{fn})
	err := p.with(func(c *C.lifehook_pod) error {
		return check(C.lifehook_go_pod_watch(c, C.uintptr_t(h)), "lifehook_pod_watch", nil)
	})
	if err != nil {
		h.Delete()
		return err
	}
	p.handlesMu.Lock()
	p.handles = append(p.handles, h)
	p.handlesMu.Unlock()
	return nil
}

// WatchChan delivers the events on a channel with the given buffer; a full buffer blocks the pod's
// event delivery (not its lifecycle), so size it or drain it.
func (p *Pod) WatchChan(buffer int) (<-chan Event, error) {
	ch := make(chan Event, buffer)
	return ch, p.Watch(func(e Event) { ch <- e })
}

func millis(d time.Duration) C.int64_t {
	if d < 0 {
		return -1
	}
	return C.int64_t(d / time.Millisecond)
}

// SetCondition sets a pod condition from the host, as a controller patches one through the API, for
// the pod's spec.readinessGates: the pod is Ready only when every gate's condition is "True". Type and
// Status ("True", "False" or "Unknown") are required, Reason and Message optional; the library sets
// its lastTransitionTime. The kubelet's own conditions (Ready, ContainersReady, ...), a type that is not
// a qualified name, another status or a 65th distinct type are ErrInvalid. A 1.0 library gives
// ErrUnsupported.
func (p *Pod) SetCondition(cond PodCondition) error {
	text, err := json.Marshal(struct {
		Type    string `json:"type"`
		Status  string `json:"status"`
		Reason  string `json:"reason,omitempty"`
		Message string `json:"message,omitempty"`
	}{cond.Type, cond.Status, cond.Reason, cond.Message})
	if err != nil {
		return err
	}
	ctext := C.CString(string(text))
	defer C.free(unsafe.Pointer(ctext))
	return p.with(func(c *C.lifehook_pod) error {
		return check(C.lifehook_go_pod_set_condition(c, ctext), "lifehook_pod_set_condition", nil)
	})
}

// Terminate stops the pod: preStop handlers, then the stop signal, within grace (negative: the
// spec's terminationGracePeriodSeconds). Blocks until every container has stopped.
func (p *Pod) Terminate(grace time.Duration) error {
	return p.with(func(c *C.lifehook_pod) error {
		return check(C.lifehook_pod_terminate(c, millis(grace)), "lifehook_pod_terminate", nil)
	})
}

// Wait waits until the phase is Succeeded or Failed or the pod was terminated; negative timeout:
// forever. errors.Is(err, ErrState) when the timeout passed first.
func (p *Pod) Wait(timeout time.Duration) error {
	return p.with(func(c *C.lifehook_pod) error {
		return check(C.lifehook_pod_wait(c, millis(timeout)), "lifehook_pod_wait", nil)
	})
}

// ContainerExited reports the exit of one of a Driver's containers.
func (p *Pod) ContainerExited(name string, exitCode int, signal syscall.Signal) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return p.with(func(c *C.lifehook_pod) error {
		return check(C.lifehook_pod_container_exited(c, cname, C.int(exitCode), C.int(signal)),
			"lifehook_pod_container_exited", nil)
	})
}

// Destroy terminates the pod with grace 0 if it still runs, then frees it. Driver methods called
// during that first step may still call ContainerExited; afterwards every method returns ErrClosed.
func (p *Pod) Destroy() {
	if p.destroying.Swap(true) {
		return
	}
	_ = p.Terminate(0) // the driver's exits are reported while the pod is still usable
	p.mu.Lock()
	if p.p != nil {
		C.lifehook_pod_destroy(p.p)
		p.p = nil
	}
	p.release()
	p.mu.Unlock()
	p.ctx.mu.Lock()
	delete(p.ctx.pods, p)
	p.ctx.mu.Unlock()
}
