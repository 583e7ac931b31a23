package lifehook_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"lifehook.io/lifehook"
)

// probeState is the part of a probe's state document these tests read.
type probeState struct {
	Type        string `json:"type"`
	Result      string `json:"result"`
	Attempts    int    `json:"attempts"`
	Stopped     bool   `json:"stopped"`
	LastAttempt *struct {
		Result string `json:"result"`
		Output string `json:"output"`
	} `json:"lastAttempt"`
}

func parseProbeState(t *testing.T, text string) probeState {
	t.Helper()
	var s probeState
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		t.Fatalf("state %q: %v", text, err)
	}
	return s
}

// boundSocket is a TCP socket bound to 127.0.0.1 that does not listen yet: connections to its port
// are refused until listen() is called on it, and no other process can take the port meanwhile.
func boundSocket(t *testing.T) (fd, port int) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, sa.(*syscall.SockaddrInet4).Port
}

func readinessTCP(port int) string {
	return fmt.Sprintf(`{"readinessProbe": {"tcpSocket": {"port": %d}, "periodSeconds": 1, "failureThreshold": 1}}`, port)
}

const loopbackTarget = `{"podIP": "127.0.0.1"}`

// nextState waits (generously) for the next state onChange delivered.
func nextState(t *testing.T, states <-chan string) probeState {
	t.Helper()
	select {
	case s := <-states:
		return parseProbeState(t, s)
	case <-time.After(20 * time.Second):
		t.Fatal("no probe state change within 20s")
	}
	return probeState{}
}

// Readiness over tcpSocket: "failure" while the port refuses connections (an attempt ran and
// failed), "success" once the test listens on it; Stop twice; State after Stop is ErrClosed.
func TestProbeReadinessTCPFailureThenSuccess(t *testing.T) {
	ctx := newContext(t)
	fd, port := boundSocket(t)
	states := make(chan string, 64)
	p, err := ctx.StartProbe(readinessTCP(port), loopbackTarget, func(s string) { states <- s })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if s := nextState(t, states); s.Type != "readiness" || s.Result != "failure" {
		t.Fatalf("initial state %+v", s)
	}
	// An attempt against the closed port ran and failed before the listener opens.
	deadline := time.Now().Add(20 * time.Second)
	for {
		text, err := p.State()
		if err != nil {
			t.Fatal(err)
		}
		s := parseProbeState(t, text)
		if s.Attempts >= 1 && s.LastAttempt != nil {
			if s.LastAttempt.Result != "failure" || s.Result != "failure" {
				t.Fatalf("closed port: %s", text)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attempt within 20s: %s", text)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := syscall.Listen(fd, 64); err != nil {
		t.Fatal(err)
	}
	if s := nextState(t, states); s.Result != "success" || s.LastAttempt == nil || s.LastAttempt.Result != "success" {
		t.Fatalf("after listen: %+v", s)
	}
	text, err := p.State()
	if s := parseProbeState(t, text); err != nil || s.Result != "success" || s.Stopped {
		t.Fatalf("%v %s", err, text)
	}
	p.Stop()
	p.Stop()
	if _, err := p.State(); !errors.Is(err, lifehook.ErrClosed) {
		t.Fatalf("State after Stop: %v", err)
	}
}

// onChange may call State and Stop (twice); no callback follows, although the result would change.
func TestProbeStopFromCallback(t *testing.T) {
	ctx := newContext(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	var probe *lifehook.Probe
	started := make(chan struct{})
	stopped := make(chan error, 1)
	var mu sync.Mutex
	var seen []string
	p, err := ctx.StartProbe(readinessTCP(port), loopbackTarget, func(s string) {
		<-started // the *Probe is handed over once StartProbe returned
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
		if !strings.Contains(s, `"result":"success"`) {
			return
		}
		_, stateErr := probe.State()
		probe.Stop()
		probe.Stop()
		_, afterErr := probe.State()
		if stateErr != nil || !errors.Is(afterErr, lifehook.ErrClosed) {
			stopped <- fmt.Errorf("State in callback: %v; after Stop: %v", stateErr, afterErr)
			return
		}
		stopped <- nil
	})
	if err != nil {
		t.Fatal(err)
	}
	probe = p
	close(started)
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no success within 20s")
	}
	p.Stop() // after the callback's Stop: a no-op
	// A running probe would publish "failure" within a period of the listener closing: nothing comes
	// (a callback on the deleted handle would also panic).
	l.Close()
	time.Sleep(2500 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || !strings.Contains(seen[0], `"result":"failure"`) {
		t.Fatalf("states %q", seen)
	}
}

// Context.Close stops the probes still running: no callback after it, State is ErrClosed, Stop is
// safe, and a new probe is refused. Polling without onChange works too.
func TestProbeStoppedByContextClose(t *testing.T) {
	ctx, err := lifehook.NewContext(&lifehook.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	states := make(chan string, 64)
	withCallback, err := ctx.StartProbe(readinessTCP(port), loopbackTarget, func(s string) { states <- s })
	if err != nil {
		t.Fatal(err)
	}
	polled, err := ctx.StartProbe(readinessTCP(port), loopbackTarget, nil)
	if err != nil {
		t.Fatal(err)
	}
	nextState(t, states)
	if s := nextState(t, states); s.Result != "success" {
		t.Fatalf("%+v", s)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		text, err := polled.State()
		if err != nil {
			t.Fatal(err)
		}
		if parseProbeState(t, text).Result == "success" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("polled probe: %s", text)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx.Close()
	for _, p := range []*lifehook.Probe{withCallback, polled} {
		if _, err := p.State(); !errors.Is(err, lifehook.ErrClosed) {
			t.Fatalf("State after Close: %v", err)
		}
		p.Stop()
	}
	select {
	case s := <-states:
		t.Fatalf("a state after Close: %s", s)
	default:
	}
	if _, err := ctx.StartProbe(readinessTCP(port), loopbackTarget, nil); !errors.Is(err, lifehook.ErrClosed) {
		t.Fatalf("StartProbe after Close: %v", err)
	}
}

func TestProbeInvalidIsATypedError(t *testing.T) {
	ctx := newContext(t)
	_, err := ctx.StartProbe(`{"livenessProbe": {"tcpSocket": {"port": 80}, "successThreshold": 2}}`, loopbackTarget,
		func(string) { t.Error("a callback for a probe that did not start") })
	var le *lifehook.Error
	if !errors.As(err, &le) || !errors.Is(err, lifehook.ErrInvalid) || le.Call != "lifehook_probe_start" ||
		!strings.Contains(le.Message, "livenessProbe.successThreshold: must be 1") {
		t.Fatalf("%v", err)
	}
	if _, err := ctx.StartProbe(`{"readinessProbe": {"tcpSocket": {"port": 80}}}`, "", nil); !errors.Is(err, lifehook.ErrInvalid) ||
		!strings.Contains(err.Error(), "readinessProbe.tcpSocket.host") {
		t.Fatalf("%v", err)
	}
	if _, err := ctx.StartProbe(`{nope`, "", nil); !errors.Is(err, lifehook.ErrInvalid) {
		t.Fatalf("%v", err)
	}
}
