// The Go host: loads liblifehook.so.1 at run time with dlopen — the way containerd or CRI-O would
// load a plugin, with no link-time dependency — and runs handlers concurrently from many goroutines
// and a pod, with GOMAXPROCS > 1, while a goroutine floods the process with SIGCHLD and SIGPIPE.
// The Go runtime aborts when a library installs signal handlers without SA_ONSTACK or lets a
// signal meant for Go land on its own threads unprepared; this host proves neither happens.
// Standard library only. Prints one line per check and "N passed, M failed"; exit 1 on failure.
package main

/*
#cgo CFLAGS: -std=c99 -Wall -Werror
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

var passed, failed int32

func check(ok bool, name string, format string, args ...any) {
	if ok {
		atomic.AddInt32(&passed, 1)
		fmt.Printf("ok   - %s\n", name)
		return
	}
	atomic.AddInt32(&failed, 1)
	fmt.Printf("FAIL - %s: %s\n", name, fmt.Sprintf(format, args...))
}

// takeString copies a library-owned string and frees it through lifehook_free.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.shim_free(unsafe.Pointer(p))
	return s
}

type result struct {
	Outcome    string `json:"outcome"`
	Message    string `json:"message"`
	ExitCode   *int   `json:"exitCode"`
	HTTPStatus *int   `json:"httpStatus"`
	Output     string `json:"output"`
}

// run runs one handler synchronously (a blocking cgo call: the goroutine's thread waits in C).
func run(ctx *C.lifehook_ctx, request string) (result, error) {
	creq := C.CString(request)
	defer C.free(unsafe.Pointer(creq))
	var cres, cerr *C.char
	rc := C.shim_run(ctx, creq, &cres, &cerr)
	text, msg := takeString(cres), takeString(cerr)
	if rc != 0 {
		return result{}, fmt.Errorf("%s: %s", C.GoString(C.shim_status_name(rc)), msg)
	}
	var r result
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return result{}, fmt.Errorf("result is not JSON (%v): %s", err, text)
	}
	return r, nil
}

// Completions of lifehook_submit arrive on library threads, through goDone, into this channel.
type completion struct {
	op     uint64
	result string
}

//export goDone
func goDone(handle C.uintptr_t, op C.uint64_t, resultJSON *C.char) {
	ch := cgo.Handle(handle).Value().(chan completion)
	ch <- completion{uint64(op), C.GoString(resultJSON)}
}

//export goEvent
func goEvent(handle C.uintptr_t, eventJSON *C.char) {
	ch := cgo.Handle(handle).Value().(chan string)
	select {
	case ch <- C.GoString(eventJSON):
	default: // the buffer is generous; never block a library thread
	}
}

// signalStorm sends SIGCHLD and SIGPIPE to this process until stop is closed.
func signalStorm(stop <-chan struct{}, sent *int64) {
	pid := os.Getpid()
	for {
		select {
		case <-stop:
			return
		default:
		}
		syscall.Kill(pid, syscall.SIGCHLD)
		syscall.Kill(pid, syscall.SIGPIPE)
		atomic.AddInt64(sent, 2)
		time.Sleep(200 * time.Microsecond)
	}
}

func startHTTPServer() (port int, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Printf("FAIL - listen on 127.0.0.1: %v\n", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return ln.Addr().(*net.TCPAddr).Port, func() { srv.Close() }
}

// handlersConcurrently runs exec, httpGet, tcpSocket and sleep handlers from many goroutines at once.
func handlersConcurrently(ctx *C.lifehook_ctx, port int) {
	const goroutines, rounds = 8, 6
	requests := []struct{ name, json, want string }{
		{"exec", `{"handler": {"exec": {"command": ["/bin/sh", "-c", "echo go-host-%d"]}}, "timeoutMs": 10000}`, "go-host-"},
		{"httpGet", `{"handler": {"httpGet": {"host": "127.0.0.1", "port": %d, "path": "/healthz"}}, "timeoutMs": 10000}`, ""},
		{"tcpSocket", `{"handler": {"tcpSocket": {"host": "127.0.0.1", "port": %d}}, "timeoutMs": 10000}`, ""},
		{"sleep", `{"handler": {"sleep": {"seconds": 0}}, "timeoutMs": 10000}`, ""},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := map[string][]string{}
	counts := map[string]int{}
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				rq := requests[(g+i)%len(requests)]
				arg := port
				if rq.name == "exec" {
					arg = g*100 + i
				}
				req := rq.json
				if rq.name != "sleep" {
					req = fmt.Sprintf(rq.json, arg)
				}
				r, err := run(ctx, req)
				ok := err == nil && r.Outcome == "success"
				if ok && rq.name == "exec" {
					ok = r.Output != "" && r.ExitCode != nil && *r.ExitCode == 0
				}
				if ok && rq.name == "httpGet" {
					ok = r.HTTPStatus != nil && *r.HTTPStatus == 200
				}
				mu.Lock()
				counts[rq.name]++
				if !ok {
					failures[rq.name] = append(failures[rq.name], fmt.Sprintf("%+v %v", r, err))
				}
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	for _, rq := range requests {
		f := failures[rq.name]
		check(len(f) == 0 && counts[rq.name] > 0,
			fmt.Sprintf("%d concurrent %s handlers from %d goroutines", counts[rq.name], rq.name, goroutines),
			"%d failed, first: %v", len(f), first(f))
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// submitted runs handlers through lifehook_submit; each completion comes back on a library thread.
func submitted(ctx *C.lifehook_ctx) {
	const n = 24
	ch := make(chan completion, n)
	h := cgo.NewHandle(ch)
	defer h.Delete()
	ops := map[uint64]bool{}
	for i := 0; i < n; i++ {
		req := C.CString(`{"handler": {"exec": {"command": ["/bin/true"]}}, "timeoutMs": 10000}`)
		var op C.uint64_t
		var cerr *C.char
		rc := C.shim_submit(ctx, req, C.uintptr_t(h), &op, &cerr)
		C.free(unsafe.Pointer(req))
		if msg := takeString(cerr); rc != 0 {
			check(false, "submit", "%s: %s", C.GoString(C.shim_status_name(rc)), msg)
			return
		}
		ops[uint64(op)] = true
	}
	successes := 0
	timeout := time.After(30 * time.Second)
	for received := 0; received < n; received++ {
		select {
		case c := <-ch:
			var r result
			if json.Unmarshal([]byte(c.result), &r) == nil && r.Outcome == "success" && ops[c.op] {
				successes++
			}
			delete(ops, c.op)
		case <-timeout:
			check(false, "submitted handlers complete", "%d of %d completions after 30 s", received, n)
			return
		}
	}
	check(successes == n, fmt.Sprintf("%d submitted handlers each completed once, on library threads", n),
		"%d of %d succeeded", successes, n)
}

func pod(ctx *C.lifehook_ctx) {
	podJSON := C.CString(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "go-host-pod"},
	  "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 2, "containers": [
	    {"name": "first", "command": ["/bin/sh", "-c", "sleep 0.2"]},
	    {"name": "second", "command": ["/bin/sh", "-c", "sleep 0.3"]}]}}`)
	defer C.free(unsafe.Pointer(podJSON))
	options := C.CString(`{"driver": "process"}`)
	defer C.free(unsafe.Pointer(options))
	var p *C.lifehook_pod
	var cerr *C.char
	rc := C.shim_pod_create(ctx, podJSON, options, &p, &cerr)
	msg := takeString(cerr)
	check(rc == 0, "pod created", "%s: %s", C.GoString(C.shim_status_name(rc)), msg)
	if rc != 0 {
		return
	}
	events := make(chan string, 256)
	h := cgo.NewHandle(events)
	check(C.shim_pod_watch(p, C.uintptr_t(h)) == 0, "pod watched", "")
	check(C.shim_pod_start(p) == 0, "pod started", "")
	rc = C.shim_pod_wait(p, 20000)
	check(rc == 0, "pod finished within 20 s", "%s", C.GoString(C.shim_status_name(rc)))
	var cstatus *C.char
	C.shim_pod_status(p, &cstatus)
	var status struct {
		Phase string `json:"phase"`
	}
	text := takeString(cstatus)
	json.Unmarshal([]byte(text), &status)
	check(status.Phase == "Succeeded", "both containers ran: phase Succeeded", "%s", text)
	C.shim_pod_destroy(p) // after this no event callback runs any more
	h.Delete()
	started := 0
	for len(events) > 0 {
		var e struct {
			Reason string `json:"reason"`
		}
		json.Unmarshal([]byte(<-events), &e)
		if e.Reason == "Started" {
			started++
		}
	}
	check(started == 2, "one Started event per container", "%d Started events", started)
}

func main() {
	if runtime.GOMAXPROCS(0) < 4 {
		runtime.GOMAXPROCS(4)
	}
	received := int64(0)
	sigs := make(chan os.Signal, 1024)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGPIPE)
	go func() {
		for range sigs {
			atomic.AddInt64(&received, 1)
		}
	}()
	var sent int64
	stopStorm := make(chan struct{})
	go signalStorm(stopStorm, &sent)

	soname := C.CString("liblifehook.so.1")
	var loadErr *C.char
	if C.shim_load(soname, &loadErr) != 0 {
		fmt.Printf("FAIL - dlopen liblifehook.so.1: %s\n", C.GoString(loadErr))
		os.Exit(1)
	}
	C.free(unsafe.Pointer(soname))
	abi := uint32(C.shim_abi_version())
	check(abi>>16 == 1, "lifehook_get_api(1) and ABI major 1", "abi 0x%x", abi)
	fmt.Printf("     liblifehook %s, ABI %d.%d, GOMAXPROCS %d\n", C.GoString(C.shim_version()), abi>>16, abi&0xffff,
		runtime.GOMAXPROCS(0))

	port, stopHTTP := startHTTPServer()
	defer stopHTTP()
	opts := C.CString(`{"threads": 2}`)
	var ctx *C.lifehook_ctx
	var cerr *C.char
	rc := C.shim_ctx_new(opts, &ctx, &cerr)
	C.free(unsafe.Pointer(opts))
	if msg := takeString(cerr); rc != 0 {
		fmt.Printf("FAIL - context: %s\n", msg)
		os.Exit(1)
	}
	handlersConcurrently(ctx, port)
	submitted(ctx)
	pod(ctx)
	C.shim_ctx_free(ctx)
	// Keep the storm going long enough to mean something even if the handlers were quick.
	for deadline := time.Now().Add(5 * time.Second); atomic.LoadInt64(&sent) < 2000 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	close(stopStorm)
	time.Sleep(50 * time.Millisecond)
	check(atomic.LoadInt64(&sent) >= 1000 && atomic.LoadInt64(&received) > 0,
		fmt.Sprintf("survived a SIGCHLD/SIGPIPE storm (%d sent, %d delivered to Go)", atomic.LoadInt64(&sent),
			atomic.LoadInt64(&received)), "storm too small")
	check(C.shim_unload() == 0, "dlclose", "")
	fmt.Printf("go-host: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
