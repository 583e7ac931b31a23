package lifehook

/*
#include <stdlib.h>
#include <lifehook/lifehook.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"errors"
	"runtime/cgo"
	"sync"
	"sync/atomic"
)

// Context is one lifehook_ctx: an event loop on a few library threads and everything started on it.
// Its methods are safe for concurrent use. Close it to cancel everything and join its threads.
type Context struct {
	mu      sync.RWMutex // Close takes it exclusively: no call is inside the library while the context is freed
	closing atomic.Bool  // set before Close waits for mu: calls made from callbacks during Close fail fast
	c       *C.lifehook_ctx
	logger  cgo.Handle
	pods    map[*Pod]struct{}
	// probes has its own lock: a probe's Stop may run in its callback, on a library thread that must
	// not wait for mu while a RunJSON holds it.
	probesMu sync.Mutex
	probes   map[*Probe]struct{}
}

// ErrClosed is returned by calls on a closed Context or a destroyed Pod.
var ErrClosed = errors.New("lifehook: closed")

// NewContext creates a context. opts: *Options, any JSON-marshalable value, JSON text, or nil.
func NewContext(opts any) (*Context, error) {
	if err := CheckVersion(); err != nil {
		return nil, err
	}
	text, err := document(opts)
	if err != nil {
		return nil, err
	}
	copts := cstring(text)
	defer freeC(copts)
	var c *C.lifehook_ctx
	var errp *C.char
	if err := check(C.lifehook_ctx_new(copts, &c, &errp), "lifehook_ctx_new", errp); err != nil {
		return nil, err
	}
	return &Context{c: c, pods: map[*Pod]struct{}{}, probes: map[*Probe]struct{}{}}, nil
}

// SetLogger routes the library's log lines at or above minLevel (0 trace ... 5 critical) to fn, called
// on library threads; nil silences them.
func (x *Context) SetLogger(fn func(level int, message string), minLevel int) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.c == nil {
		return ErrClosed
	}
	old := x.logger
	var h cgo.Handle
	if fn != nil {
		h = cgo.NewHandle(fn)
	}
	rc := C.lifehook_go_set_logger(x.c, C.uintptr_t(h), C.int(minLevel))
	if err := check(rc, "lifehook_ctx_set_logger", nil); err != nil {
		if h != 0 {
			h.Delete()
		}
		return err
	}
	x.logger = h
	if old != 0 {
		old.Delete() // the library no longer calls the old logger once set_logger returned
	}
	return nil
}

// Operation is a submitted handler.
type Operation struct {
	ID  uint64
	ctx *Context
}

// Cancel kills and reaps the operation's processes; its completion then reports Canceled.
// ErrNotFound (errors.Is) when it already completed.
func (o Operation) Cancel() error { return o.ctx.Cancel(o.ID) }

type completion struct {
	fn func(Result)
}

// Submit starts one handler and returns at once; done is called exactly once with its Result, on a
// library thread (also after Cancel and on Close). done must not block for long nor call Close.
// req: Request, any JSON-marshalable value, or JSON text.
func (x *Context) Submit(req any, done func(Result)) (Operation, error) {
	text, err := document(req)
	if err != nil {
		return Operation{}, err
	}
	creq := C.CString(text)
	defer C.free(unsafe_pointer(creq))
	if x.closing.Load() {
		return Operation{}, ErrClosed
	}
	h := cgo.NewHandle(&completion{fn: done})
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.c == nil {
		h.Delete()
		return Operation{}, ErrClosed
	}
	var op C.uint64_t
	var errp *C.char
	rc := C.lifehook_go_submit(x.c, creq, C.uintptr_t(h), &op, &errp)
	if err := check(rc, "lifehook_submit", errp); err != nil {
		h.Delete() // done is not called when submit fails
		return Operation{}, err
	}
	return Operation{ID: uint64(op), ctx: x}, nil
}

// SubmitChan is Submit delivering the Result on a channel (buffered: the library thread never waits).
func (x *Context) SubmitChan(req any) (Operation, <-chan Result, error) {
	ch := make(chan Result, 1)
	op, err := x.Submit(req, func(r Result) { ch <- r })
	if err != nil {
		return Operation{}, nil, err
	}
	return op, ch, nil
}

// Run runs one handler and waits for its Result. When ctx is done first the handler is canceled and
// Run returns its Canceled result together with ctx.Err().
func (x *Context) Run(ctx context.Context, req any) (Result, error) {
	op, ch, err := x.SubmitChan(req)
	if err != nil {
		return Result{}, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		_ = op.Cancel()
		return <-ch, ctx.Err()
	}
}

// RunJSON runs a request given as JSON text and returns the result JSON text as the library wrote it.
func (x *Context) RunJSON(request string) (string, error) {
	creq := C.CString(request)
	defer C.free(unsafe_pointer(creq))
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.c == nil {
		return "", ErrClosed
	}
	var res, errp *C.char
	rc := C.lifehook_run(x.c, creq, &res, &errp)
	out := take(res)
	return out, check(rc, "lifehook_run", errp)
}

// Cancel cancels an operation by id; ErrNotFound when it is unknown or completed.
func (x *Context) Cancel(id uint64) error {
	if x.closing.Load() {
		return ErrClosed
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.c == nil {
		return ErrClosed
	}
	return check(C.lifehook_cancel(x.c, C.uint64_t(id)), "lifehook_cancel", nil)
}

// Close stops the context's probes, destroys its pods, cancels all work (pending completions report Canceled), kills
// and reaps every child and joins the library's threads. Must not be called from a callback.
func (x *Context) Close() {
	x.closing.Store(true)
	x.stopProbes()
	x.mu.Lock()
	pods := make([]*Pod, 0, len(x.pods))
	for p := range x.pods {
		pods = append(pods, p)
	}
	x.mu.Unlock()
	for _, p := range pods {
		p.Destroy()
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.c == nil {
		return
	}
	C.lifehook_ctx_free(x.c)
	x.c = nil
	if x.logger != 0 {
		x.logger.Delete()
		x.logger = 0
	}
}
