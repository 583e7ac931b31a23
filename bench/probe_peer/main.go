// A kubelet-style prober written from the kubelet's probe rules (pkg/probe/tcp, pkg/probe/http,
// pkg/probe/exec), as the peer of bench/probe_scale.cpp: N targets, one goroutine and ticker each
// (worker.go), at a fixed period for a fixed time, then the number of attempts on stdout. The
// benchmark measures this process's CPU time (wait4).
//
//   tcp: net.Dialer with the probe timeout, SO_LINGER 1 (pkg/probe/dialer_others.go), close;
//   http: a fresh http.Transport per probe with DisableKeepAlives, no proxy, no compression,
//         redirects not followed, the body read up to 10 KiB (pkg/probe/http);
//   exec: os/exec with the output captured up to 10 KiB (pkg/probe/exec).
//
// Usage: probe_peer tcp|http|exec SECONDS PERIOD_MS TARGET...
//   tcp: TARGET = host:port; http: TARGET = URL; exec: TARGET = a command (one word).
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const maxReadLength = 10 * 1 << 10

type limitWriter struct {
	buf bytes.Buffer
	n   int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if room := maxReadLength - w.buf.Len(); room > 0 {
		if len(p) > room {
			w.buf.Write(p[:room])
		} else {
			w.buf.Write(p)
		}
	}
	return len(p), nil
}

func probeDialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: func(network, address string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 1})
		})
	}}
}

func tcpProbe(addr string, timeout time.Duration) bool {
	conn, err := probeDialer(timeout).Dial("tcp", addr)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func httpProbe(url string, timeout time.Duration) bool {
	d := probeDialer(timeout)
	transport := &http.Transport{DisableKeepAlives: true, Proxy: nil, DisableCompression: true, DialContext: d.DialContext}
	client := &http.Client{Timeout: timeout, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "kube-probe/1.35")
	req.Header.Set("Accept", "*/*")
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	io.ReadAll(io.LimitReader(res.Body, maxReadLength))
	return res.StatusCode >= 200 && res.StatusCode < 400
}

func execProbe(cmd string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, cmd)
	var out limitWriter
	c.Stdout = &out
	c.Stderr = &out
	return c.Run() == nil
}

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: probe_peer tcp|http|exec SECONDS PERIOD_MS TARGET...")
		os.Exit(2)
	}
	kind := os.Args[1]
	seconds, _ := strconv.Atoi(os.Args[2])
	periodMs, _ := strconv.Atoi(os.Args[3])
	targets := os.Args[4:]
	period := time.Duration(periodMs) * time.Millisecond
	timeout := time.Second
	var probe func(string, time.Duration) bool
	switch kind {
	case "tcp":
		probe = tcpProbe
	case "http":
		probe = httpProbe
	case "exec":
		probe = execProbe
	default:
		os.Exit(2)
	}
	var attempts, failures int64
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		// Starts spread over one period, as the benchmark spreads the library's probes.
		go func(t string, delay time.Duration) {
			defer wg.Done()
			time.Sleep(delay)
			ticker := time.NewTicker(period)
			defer ticker.Stop()
			for {
				if !probe(t, timeout) {
					atomic.AddInt64(&failures, 1)
				}
				atomic.AddInt64(&attempts, 1)
				<-ticker.C
				if time.Now().After(deadline) {
					return
				}
			}
		}(t, period*time.Duration(i)/time.Duration(len(targets)))
	}
	wg.Wait()
	fmt.Printf("%d %d\n", attempts, failures)
}
