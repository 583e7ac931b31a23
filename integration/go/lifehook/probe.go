package lifehook

/*
#include <stdlib.h>
#include <lifehook/lifehook.h>
#include "shim.h"
*/
import "C"

import (
	"runtime/cgo"
	"sync"
	"sync/atomic"
)

// Probe is one standalone liveness, readiness or startup probe (lifehook_probe, ABI 1.1) of a
// container the host owns, run by the library with the kubelet's rules (pkg/kubelet/prober/worker.go):
// an attempt every periodSeconds, a result published after failureThreshold consecutive failures or
// successThreshold consecutive successes. Methods are safe for concurrent use and from its onChange.
//
// Ownership: the library holds only a cgo.Handle of the Probe, deleted by Stop once
// lifehook_probe_stop returned (no callback runs after that). Context.Close stops its probes first.
type Probe struct {
	ctx      *Context
	mu       sync.RWMutex // guards p: State reads it, Stop clears it before lifehook_probe_stop (never held across it)
	p        *C.lifehook_probe
	h        cgo.Handle
	onChange func(state string)
	ready    chan struct{} // closed when StartProbe returns: callbacks wait for it
	stopping atomic.Bool
	stopped  chan struct{} // closed when the first Stop has returned
}

// StartProbe starts a probe. probeJSON holds exactly one Kubernetes Probe under its Container field
// name, e.g. {"readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}} (Kubernetes fields,
// defaults and validation); targetJSON is a Request's "target" ({"podIP": "127.0.0.1", ...}; "" = {}).
// The first attempt runs at once (or after initialDelaySeconds).
//
// onChange (nil: poll with State) is called with the state document (see State) on every change of
// the published result, the initial one included (readiness starts "failure", liveness "success",
// startup "unknown"); on a library thread, one call at a time, possibly before StartProbe returned to
// its caller (hand the *Probe over with a channel if onChange needs it). It may call State and Stop;
// it must not block for long nor call Context.Close.
//
// A bad document is an ErrInvalid whose message names the field path and the value; a 1.0 library
// gives ErrUnsupported.
func (x *Context) StartProbe(probeJSON, targetJSON string, onChange func(state string)) (*Probe, error) {
	cprobe, ctarget := C.CString(probeJSON), cstring(targetJSON)
	defer C.free(unsafe_pointer(cprobe))
	defer freeC(ctarget)
	if x.closing.Load() {
		return nil, ErrClosed
	}
	p := &Probe{ctx: x, onChange: onChange, ready: make(chan struct{}), stopped: make(chan struct{})}
	defer close(p.ready)
	if onChange != nil {
		p.h = cgo.NewHandle(p)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	// Registered before it starts (Close stops what it finds here) and under the lock Stop waits for.
	p.mu.Lock()
	defer p.mu.Unlock()
	if x.c == nil || !x.addProbe(p) {
		p.deleteHandle()
		return nil, ErrClosed
	}
	var errp *C.char
	rc := C.lifehook_go_probe_start(x.c, cprobe, ctarget, C.uintptr_t(p.h), &p.p, &errp)
	if err := check(rc, "lifehook_probe_start", errp); err != nil {
		x.removeProbe(p)
		p.deleteHandle() // no callback when the start failed
		return nil, err
	}
	return p, nil
}

// State returns the probe's state document as the library wrote it: {"type":
// "liveness|readiness|startup", "result": "success|failure|unknown" (the published result), "onHold",
// "attempts", "consecutive": {"result", "count"}, "lastAttempt": {"result", "output" (the kubelet's
// event text), "warning", "errored", "handler": a Result}, "stopped"}. ErrClosed after Stop.
func (p *Probe) State() (string, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.p == nil {
		return "", ErrClosed
	}
	var out *C.char
	rc := C.lifehook_go_probe_state(p.p, &out)
	text := take(out)
	return text, check(rc, "lifehook_probe_state", nil)
}

// Stop stops the probe (an attempt in flight is canceled, its processes killed) and releases it.
// The first call blocks until no onChange of the probe runs (none starts afterwards), except when
// made from onChange itself, which then returns at once; later calls return at once.
func (p *Probe) Stop() {
	if p.stopping.Swap(true) {
		return
	}
	p.mu.Lock() // waits for a State in progress; later ones see nil
	c := p.p
	p.p = nil
	p.mu.Unlock()
	if c != nil {
		C.lifehook_go_probe_stop(c)
	}
	p.deleteHandle()
	p.ctx.removeProbe(p)
	close(p.stopped)
}

func (p *Probe) deleteHandle() {
	if p.h != 0 {
		p.h.Delete()
		p.h = 0
	}
}

// addProbe registers a probe for Close; false once Close has begun.
func (x *Context) addProbe(p *Probe) bool {
	x.probesMu.Lock()
	defer x.probesMu.Unlock()
	if x.closing.Load() {
		return false
	}
	x.probes[p] = struct{}{}
	return true
}

func (x *Context) removeProbe(p *Probe) {
	x.probesMu.Lock()
	delete(x.probes, p)
	x.probesMu.Unlock()
}

// stopProbes stops every probe of the context and waits for Stops already under way.
func (x *Context) stopProbes() {
	x.probesMu.Lock()
	probes := make([]*Probe, 0, len(x.probes))
	for p := range x.probes {
		probes = append(probes, p)
	}
	x.probesMu.Unlock()
	for _, p := range probes {
		p.Stop()
		<-p.stopped
	}
}
