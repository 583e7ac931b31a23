// The Go host, now an example of the lifehook.io/lifehook package: what a Go runtime or node agent
// does with it. Handlers of each kind run from several goroutines at once (GOMAXPROCS >= 4), one is
// submitted with a channel and canceled, a pod of two containers runs with its events watched, and a
// host-owned container runs through a Go Driver. Standard library only.
// Prints one line per check and "N passed, M failed"; exit 1 on failure.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"lifehook.io/lifehook"
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

func httpServer() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("FAIL - listen on 127.0.0.1:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	go (&http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}).Serve(ln)
	return ln.Addr().(*net.TCPAddr).Port
}

func handlers(ctx *lifehook.Context, port int) {
	reqs := map[string]lifehook.Request{
		"exec": {Handler: lifehook.Handler{Exec: &lifehook.ExecAction{Command: []string{"/bin/sh", "-c", "echo go-host"}}}},
		"httpGet": {Handler: lifehook.Handler{HTTPGet: &lifehook.HTTPGetAction{Path: "/healthz", Port: lifehook.IntPort(port)}},
			Target: &lifehook.Target{PodIP: "127.0.0.1"}},
		"tcpSocket": {Handler: lifehook.Handler{TCPSocket: &lifehook.TCPSocketAction{Host: "127.0.0.1", Port: lifehook.IntPort(port)}}},
		"sleep":     {Handler: lifehook.Handler{Sleep: &lifehook.SleepAction{Seconds: 0}}},
	}
	var wg sync.WaitGroup
	var bad int32
	for name, req := range reqs {
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(name string, req lifehook.Request) {
				defer wg.Done()
				r, err := ctx.Run(context.Background(), req)
				if err != nil || !r.Succeeded() {
					atomic.AddInt32(&bad, 1)
					fmt.Printf("     %s: %v %s\n", name, err, r.Raw)
				}
			}(name, req)
		}
	}
	wg.Wait()
	check(bad == 0, "exec, httpGet, tcpSocket and sleep from 16 goroutines", "%d failed", bad)

	_, err := ctx.Run(context.Background(), `{"handler": {"exec": {"command": []}}}`)
	var le *lifehook.Error
	check(errors.As(err, &le) && errors.Is(err, lifehook.ErrInvalid), "invalid request: typed error with its path",
		"%v", err)
	if le != nil {
		fmt.Printf("     %s\n", le)
	}

	op, ch, err := ctx.SubmitChan(lifehook.Request{Handler: lifehook.Handler{Sleep: &lifehook.SleepAction{Seconds: 60}}})
	check(err == nil && op.ID != 0, "submitted a 60 s sleep", "%v", err)
	_ = op.Cancel()
	select {
	case r := <-ch:
		check(r.Outcome == lifehook.Canceled, "canceled: the completion arrived on a library thread", "%s", r.Raw)
	case <-time.After(10 * time.Second):
		check(false, "canceled", "no completion within 10 s")
	}
}

func pod(ctx *lifehook.Context) {
	p, err := ctx.NewPod(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "go-host-pod"},
	  "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 2, "containers": [
	    {"name": "first", "command": ["/bin/sh", "-c", "sleep 0.2"]},
	    {"name": "second", "command": ["/bin/sh", "-c", "sleep 0.3"]}]}}`, nil, nil)
	check(err == nil, "pod created", "%v", err)
	if err != nil {
		return
	}
	defer p.Destroy()
	var started int32
	_ = p.Watch(func(e lifehook.Event) {
		fmt.Printf("     event: %s %s %s\n", e.Type, e.Reason, e.Message)
		if e.Reason == "Started" {
			atomic.AddInt32(&started, 1)
		}
	})
	_ = p.Start()
	err = p.Wait(20 * time.Second)
	st, _ := p.Status()
	check(err == nil && st.Phase == "Succeeded", "both containers ran: phase Succeeded", "%v %s", err, st.Raw)
	check(atomic.LoadInt32(&started) == 2, "two Started events", "%d", started)
}

// process is a host-owned "runtime": each container is a real /bin/sh process the host starts and
// reaps itself, reporting exits to the pod.
type process struct {
	pod  *lifehook.Pod
	mu   sync.Mutex
	proc map[string]*os.Process
}

func (d *process) Start(uid string, container json.RawMessage) (*lifehook.ContainerInfo, error) {
	var c struct {
		Name    string   `json:"name"`
		Command []string `json:"command"`
	}
	if err := json.Unmarshal(container, &c); err != nil || len(c.Command) == 0 {
		return nil, fmt.Errorf("container without a command: %w", syscall.EINVAL)
	}
	p, err := os.StartProcess(c.Command[0], c.Command, &os.ProcAttr{})
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.proc[c.Name] = p
	d.mu.Unlock()
	go func() {
		st, _ := p.Wait()
		ws := st.Sys().(syscall.WaitStatus)
		_ = d.pod.ContainerExited(c.Name, ws.ExitStatus(), ws.Signal()*syscall.Signal(btoi(ws.Signaled())))
	}()
	return &lifehook.ContainerInfo{Pid: p.Pid}, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (d *process) Signal(uid, name string, sig syscall.Signal) error {
	d.mu.Lock()
	p := d.proc[name]
	d.mu.Unlock()
	if p == nil {
		return syscall.ESRCH
	}
	return p.Signal(sig)
}

func (d *process) Remove(uid, name string) error { return nil }

func driverPod(ctx *lifehook.Context) {
	d := &process{proc: map[string]*os.Process{}}
	p, err := ctx.NewPod(`{"metadata": {"name": "go-driver-pod"}, "spec": {"terminationGracePeriodSeconds": 2,
	  "containers": [{"name": "app", "command": ["/bin/sleep", "30"]}]}}`, nil, d)
	check(err == nil, "pod with a Go Driver created", "%v", err)
	if err != nil {
		return
	}
	d.pod = p
	defer p.Destroy()
	_ = p.Start()
	deadline := time.Now().Add(10 * time.Second)
	st, _ := p.Status()
	for st.Phase != "Running" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		st, _ = p.Status()
	}
	check(st.Phase == "Running", "the Driver's container runs", "%s", st.Raw)
	err = p.Terminate(time.Second)
	st, _ = p.Status()
	term := st.ContainerStatuses[0].State.Terminated
	check(err == nil && term != nil && term.Signal == int(syscall.SIGTERM), "terminated: SIGTERM through Driver.Signal",
		"%v %s", err, st.Raw)
}

func main() {
	if runtime.GOMAXPROCS(0) < 4 {
		runtime.GOMAXPROCS(4)
	}
	if err := lifehook.CheckVersion(); err != nil {
		fmt.Println("FAIL -", err)
		os.Exit(1)
	}
	major, minor := lifehook.ABIVersion()
	fmt.Printf("     liblifehook %s, ABI %d.%d (header ABI 1.%d)\n", lifehook.LibraryVersion(), major, minor,
		lifehook.HeaderABIMinor)
	ctx, err := lifehook.NewContext(&lifehook.Options{Threads: 2})
	check(err == nil, "context created", "%v", err)
	if err == nil {
		handlers(ctx, httpServer())
		pod(ctx)
		driverPod(ctx)
		ctx.Close()
	}
	fmt.Printf("go-host: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
