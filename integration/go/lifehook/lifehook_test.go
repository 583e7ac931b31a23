package lifehook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"lifehook.io/lifehook"
)

func newContext(t *testing.T) *lifehook.Context {
	t.Helper()
	ctx, err := lifehook.NewContext(&lifehook.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ctx.Close)
	return ctx
}

func execRequest(args ...string) lifehook.Request {
	return lifehook.Request{Handler: lifehook.Handler{Exec: &lifehook.ExecAction{Command: args}}}
}

func TestVersion(t *testing.T) {
	if err := lifehook.CheckVersion(); err != nil {
		t.Fatal(err)
	}
	major, minor := lifehook.ABIVersion()
	if major != 1 || minor < lifehook.ABIMinorRequired {
		t.Fatalf("ABI %d.%d", major, minor)
	}
	if strings.Count(lifehook.LibraryVersion(), ".") != 2 {
		t.Fatalf("version %q", lifehook.LibraryVersion())
	}
	var ve error = &lifehook.VersionError{Major: 2, Minor: 0, WantMajor: 1, WantMinor: 0}
	if !strings.Contains(ve.Error(), "ABI 2.0") {
		t.Fatal(ve)
	}
}

func TestExec(t *testing.T) {
	ctx := newContext(t)
	r, err := ctx.Run(context.Background(), execRequest("/bin/sh", "-c", "echo hi; exit 0"))
	if err != nil || !r.Succeeded() || *r.ExitCode != 0 || r.Output != "hi\n" {
		t.Fatalf("%v %+v", err, r)
	}
	r, _ = ctx.Run(context.Background(), execRequest("/bin/sh", "-c", "exit 7"))
	if r.Outcome != lifehook.Failure || *r.ExitCode != 7 || len(r.Raw) == 0 {
		t.Fatalf("%+v", r)
	}
}

func TestHTTPAndTCP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/healthz" {
			fmt.Fprintln(w, "ok")
			return
		}
		w.WriteHeader(503)
	}))
	defer srv.Close()
	port, _ := strconv.Atoi(srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	ctx := newContext(t)
	target := &lifehook.Target{PodIP: "127.0.0.1", Ports: []lifehook.ContainerPort{{Name: "web", ContainerPort: port}}}
	get := func(path string, p lifehook.Port) lifehook.Result {
		r, err := ctx.Run(context.Background(), lifehook.Request{
			Handler: lifehook.Handler{HTTPGet: &lifehook.HTTPGetAction{Path: path, Port: p}}, Target: target})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := get("/healthz", lifehook.NamedPort("web")); !r.Succeeded() || *r.HTTPStatus != 200 {
		t.Fatalf("%+v", r)
	}
	if r := get("/nope", lifehook.IntPort(port)); r.Outcome != lifehook.Failure || *r.HTTPStatus != 503 {
		t.Fatalf("%+v", r)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	tcp := func(p int) lifehook.Result {
		r, _ := ctx.Run(context.Background(), lifehook.Request{
			Handler: lifehook.Handler{TCPSocket: &lifehook.TCPSocketAction{Port: lifehook.IntPort(p)}}, Target: target})
		return r
	}
	if r := tcp(port); !r.Succeeded() {
		t.Fatalf("%+v", r)
	}
	if r := tcp(closed); r.Outcome != lifehook.Failure {
		t.Fatalf("%+v", r)
	}
}

func TestInvalidRequestIsATypedError(t *testing.T) {
	ctx := newContext(t)
	_, err := ctx.Run(context.Background(), execRequest())
	var le *lifehook.Error
	if !errors.As(err, &le) || le.Status != lifehook.StatusInvalid || !errors.Is(err, lifehook.ErrInvalid) {
		t.Fatalf("%v", err)
	}
	if !strings.Contains(le.Message, "handler.exec.command") || le.Status.String() != "LIFEHOOK_E_INVALID" {
		t.Fatalf("%q %q", le.Message, le.Status)
	}
	if _, err := ctx.RunJSON("{nope"); !errors.Is(err, lifehook.ErrInvalid) {
		t.Fatal(err)
	}
	if _, err := lifehook.NewContext(`{"threads": 0}`); !errors.Is(err, lifehook.ErrInvalid) ||
		!strings.Contains(err.Error(), "options.threads") {
		t.Fatal(err)
	}
}

func TestSubmitCallbackAndChannel(t *testing.T) {
	ctx := newContext(t)
	got := make(chan lifehook.Result, 1)
	op, err := ctx.Submit(execRequest("/bin/true"), func(r lifehook.Result) { got <- r })
	if err != nil || op.ID == 0 {
		t.Fatal(err)
	}
	if r := <-got; !r.Succeeded() {
		t.Fatalf("%+v", r)
	}
	if err := op.Cancel(); !errors.Is(err, lifehook.ErrNotFound) {
		t.Fatalf("cancel after completion: %v", err)
	}
	_, ch, err := ctx.SubmitChan(`{"handler": {"sleep": {"seconds": 0.01}}}`)
	if err != nil {
		t.Fatal(err)
	}
	if r := <-ch; !r.Succeeded() {
		t.Fatalf("%+v", r)
	}
}

func TestCancelKillsAndReaps(t *testing.T) {
	ctx := newContext(t)
	pidfile := filepath.Join(t.TempDir(), "pid")
	// $$$$: Kubernetes $(VAR) expansion turns $$ into $.
	op, ch, err := ctx.SubmitChan(execRequest("/bin/sh", "-c", "echo $$$$ > "+pidfile+"; exec sleep 30"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(pidfile)
		if pid, _ = strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			break
		}
	}
	if pid <= 0 {
		t.Fatal("handler did not start")
	}
	if err := op.Cancel(); err != nil {
		t.Fatal(err)
	}
	if r := <-ch; r.Outcome != lifehook.Canceled {
		t.Fatalf("%+v", r)
	}
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Fatalf("pid %d still exists: %v", pid, err)
	}
}

func TestRunHonoursGoContext(t *testing.T) {
	ctx := newContext(t)
	c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	r, err := ctx.Run(c, lifehook.Request{Handler: lifehook.Handler{Sleep: &lifehook.SleepAction{Seconds: 30}}})
	if !errors.Is(err, context.DeadlineExceeded) || r.Outcome != lifehook.Canceled || time.Since(start) > 10*time.Second {
		t.Fatalf("%v %+v", err, r)
	}
}

func TestCloseCompletesPendingAndRefusesCalls(t *testing.T) {
	ctx, err := lifehook.NewContext(nil)
	if err != nil {
		t.Fatal(err)
	}
	var chans []<-chan lifehook.Result
	for i := 0; i < 5; i++ {
		_, ch, err := ctx.SubmitChan(lifehook.Request{Handler: lifehook.Handler{Sleep: &lifehook.SleepAction{Seconds: 30}}})
		if err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ch)
	}
	// A completion that submits again while Close runs gets ErrClosed, not a deadlock.
	var resubmit atomic.Value
	_, _ = ctx.Submit(lifehook.Request{Handler: lifehook.Handler{Sleep: &lifehook.SleepAction{Seconds: 30}}},
		func(lifehook.Result) {
			_, err := ctx.Submit(execRequest("/bin/true"), nil)
			resubmit.Store(err)
		})
	ctx.Close()
	for _, ch := range chans {
		if r := <-ch; r.Outcome != lifehook.Canceled {
			t.Fatalf("%+v", r)
		}
	}
	if err, _ := resubmit.Load().(error); !errors.Is(err, lifehook.ErrClosed) {
		t.Fatalf("submit from a completion during Close: %v", err)
	}
	if _, err := ctx.Run(context.Background(), execRequest("/bin/true")); !errors.Is(err, lifehook.ErrClosed) {
		t.Fatal(err)
	}
	ctx.Close() // twice is fine
}

func TestLogger(t *testing.T) {
	ctx, err := lifehook.NewContext(&lifehook.Options{LogLevel: "debug"})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := ctx.SetLogger(func(level int, msg string) { atomic.AddInt64(&n, 1) }, 0); err != nil {
		t.Fatal(err)
	}
	_, _ = ctx.Run(context.Background(), execRequest("/bin/true"))
	ctx.Close()
	if atomic.LoadInt64(&n) == 0 {
		t.Fatal("no log line")
	}
}

// Many goroutines on one context, GOMAXPROCS >= 4, the garbage collector forced in between, while
// another goroutine floods the process with SIGCHLD, SIGPIPE and SIGURG. The Go runtime aborts ("signal
// arrived during external code execution" / "non-Go code set up signal handler without SA_ONSTACK")
// if the library's threads mishandle signals; completions arrive on those threads.
func TestGoroutinesUnderSignalStorm(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	signal.Ignore(syscall.SIGPIPE)
	defer signal.Reset(syscall.SIGPIPE)
	chld := make(chan os.Signal, 64)
	signal.Notify(chld, syscall.SIGCHLD)
	defer signal.Stop(chld)

	stop := make(chan struct{})
	var sent int64
	var stormDone sync.WaitGroup
	stormDone.Add(1)
	go func() {
		defer stormDone.Done()
		pid := os.Getpid()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, s := range []syscall.Signal{syscall.SIGCHLD, syscall.SIGPIPE, syscall.SIGURG} {
				_ = syscall.Kill(pid, s)
			}
			atomic.AddInt64(&sent, 3)
			time.Sleep(50 * time.Microsecond)
		}
	}()
	go func() {
		for range chld {
		}
	}()

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }))
	defer srv.Close()
	port, _ := strconv.Atoi(srv.URL[strings.LastIndex(srv.URL, ":")+1:])
	ctx := newContext(t)
	const goroutines, each = 32, 8
	var wg sync.WaitGroup
	var bad int64
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				var req lifehook.Request
				switch (g + i) % 4 {
				case 0:
					req = execRequest("/bin/sh", "-c", "exit "+strconv.Itoa(i%3))
				case 1:
					req = lifehook.Request{Handler: lifehook.Handler{HTTPGet: &lifehook.HTTPGetAction{
						Host: "127.0.0.1", Port: lifehook.IntPort(port), Path: "/"}}}
				case 2:
					req = lifehook.Request{Handler: lifehook.Handler{TCPSocket: &lifehook.TCPSocketAction{
						Host: "127.0.0.1", Port: lifehook.IntPort(port)}}}
				default:
					req = lifehook.Request{Handler: lifehook.Handler{Sleep: &lifehook.SleepAction{Seconds: 0.001}}}
				}
				r, err := ctx.Run(context.Background(), req)
				want := lifehook.Success
				if (g+i)%4 == 0 && i%3 != 0 {
					want = lifehook.Failure
				}
				if err != nil || r.Outcome != want {
					atomic.AddInt64(&bad, 1)
					t.Errorf("goroutine %d run %d: %v %+v", g, i, err, r)
				}
				if i%4 == 0 {
					runtime.GC()
				}
			}
		}(g)
	}
	wg.Wait()
	close(stop)
	stormDone.Wait()
	if atomic.LoadInt64(&sent) < 100 {
		t.Fatalf("the storm sent only %d signals", sent)
	}
	t.Logf("%d handlers from %d goroutines under %d signals", goroutines*each, goroutines, atomic.LoadInt64(&sent))
}

func twoContainerPod(name string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": name},
		"spec": map[string]any{"restartPolicy": "Never", "terminationGracePeriodSeconds": 2,
			"containers": []any{
				map[string]any{"name": "first", "command": []string{"/bin/sh", "-c", "sleep 0.1"}},
				map[string]any{"name": "second", "command": []string{"/bin/sh", "-c", "sleep 0.2"}}}}}
}

func TestPodProcessDriver(t *testing.T) {
	ctx := newContext(t)
	pod, err := ctx.NewPod(twoContainerPod("go-pod"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pod.Destroy()
	events, err := pod.WatchChan(64)
	if err != nil {
		t.Fatal(err)
	}
	if err := pod.Start(); err != nil {
		t.Fatal(err)
	}
	if err := pod.Wait(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	st, err := pod.Status()
	if err != nil || st.Phase != "Succeeded" || len(st.ContainerStatuses) != 2 ||
		st.ContainerStatuses[0].State.Terminated == nil || st.Display.Status != "Completed" {
		t.Fatalf("%v %s", err, st.Raw)
	}
	started := map[string]bool{}
	for len(started) < 2 {
		select {
		case e := <-events:
			if e.Reason == "Started" {
				started[e.Container] = true
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Started events: %v", started)
		}
	}
	pod.Destroy()
	if _, err := pod.Status(); !errors.Is(err, lifehook.ErrClosed) {
		t.Fatal(err)
	}
}

func TestPodWaitTimeoutAndTerminate(t *testing.T) {
	ctx := newContext(t)
	pod, err := ctx.NewPod(`{"metadata": {"name": "go-long"}, "spec": {"terminationGracePeriodSeconds": 1,
		"containers": [{"name": "long", "command": ["/bin/sleep", "30"]}]}}`, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = pod.Start()
	if err := pod.Wait(200 * time.Millisecond); !errors.Is(err, lifehook.ErrState) {
		t.Fatalf("wait: %v", err)
	}
	if err := pod.Terminate(500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := pod.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	// Close destroys pods it still owns.
}

// fakeRuntime: host-owned containers as bookkeeping. "job" exits 0 by itself, "app" on SIGTERM,
// "broken" cannot start.
type fakeRuntime struct {
	mu      sync.Mutex
	pod     *lifehook.Pod
	started []string
	signals []string
	removed []string
}

func (f *fakeRuntime) Start(uid string, container json.RawMessage) (*lifehook.ContainerInfo, error) {
	var c struct{ Name string }
	_ = json.Unmarshal(container, &c)
	if c.Name == "broken" {
		return nil, fmt.Errorf("no such image: %w", syscall.ENOENT)
	}
	f.mu.Lock()
	f.started = append(f.started, uid+"/"+c.Name)
	f.mu.Unlock()
	if c.Name == "job" {
		go func() { time.Sleep(50 * time.Millisecond); _ = f.pod.ContainerExited("job", 0, 0) }()
	}
	return &lifehook.ContainerInfo{Pid: os.Getpid()}, nil
}

func (f *fakeRuntime) Signal(uid, name string, sig syscall.Signal) error {
	f.mu.Lock()
	f.signals = append(f.signals, name+":"+sig.String())
	f.mu.Unlock()
	if sig == syscall.SIGTERM || sig == syscall.SIGKILL {
		go func() { _ = f.pod.ContainerExited(name, 0, 0) }()
	}
	return nil
}

func (f *fakeRuntime) Remove(uid, name string) error {
	f.mu.Lock()
	f.removed = append(f.removed, name)
	f.mu.Unlock()
	return nil
}

func TestPodGoDriver(t *testing.T) {
	ctx := newContext(t)
	rt := &fakeRuntime{}
	pod, err := ctx.NewPod(map[string]any{"metadata": map[string]any{"name": "go-driver", "uid": "u-1"},
		"spec": map[string]any{"restartPolicy": "Never", "terminationGracePeriodSeconds": 2,
			"initContainers": []any{map[string]any{"name": "job", "image": "busybox"}},
			"containers":     []any{map[string]any{"name": "app", "image": "busybox"}}}}, nil, rt)
	if err != nil {
		t.Fatal(err)
	}
	rt.pod = pod
	if err := pod.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for st, _ := pod.Status(); st.Phase != "Running" && time.Now().Before(deadline); st, _ = pod.Status() {
		time.Sleep(20 * time.Millisecond)
	}
	if st, _ := pod.Status(); st.Phase != "Running" {
		t.Fatalf("%s", st.Raw)
	}
	if err := pod.Terminate(time.Second); err != nil {
		t.Fatal(err)
	}
	pod.Destroy()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if strings.Join(rt.started, ",") != "u-1/job,u-1/app" || !strings.Contains(strings.Join(rt.signals, ","), "app:terminated") {
		t.Fatalf("started %v signals %v", rt.started, rt.signals)
	}
}

func TestDriverErrorReachesEvents(t *testing.T) {
	ctx := newContext(t)
	rt := &fakeRuntime{}
	pod, err := ctx.NewPod(`{"metadata": {"name": "go-broken"}, "spec": {"restartPolicy": "Never",
		"containers": [{"name": "broken", "image": "x"}]}}`, nil, rt)
	if err != nil {
		t.Fatal(err)
	}
	rt.pod = pod
	defer pod.Destroy()
	events, _ := pod.WatchChan(64)
	_ = pod.Start()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Type == "Warning" {
				if !strings.Contains(e.Message, "no such image") {
					t.Fatalf("%+v", e)
				}
				return
			}
		case <-timeout:
			t.Fatal("no Warning event")
		}
	}
}

func TestPodCreateErrorIsTyped(t *testing.T) {
	ctx := newContext(t)
	_, err := ctx.NewPod(`{"spec": {"containers": []}}`, nil, nil)
	if !errors.Is(err, lifehook.ErrInvalid) {
		t.Fatal(err)
	}
	_, err = ctx.NewPod(twoContainerPod("x"), &lifehook.PodOptions{Driver: "teleport"}, nil)
	if !errors.Is(err, lifehook.ErrInvalid) || !strings.Contains(err.Error(), "options.driver") {
		t.Fatal(err)
	}
}
