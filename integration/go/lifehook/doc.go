// Package lifehook runs Kubernetes container lifecycle handlers (exec, httpGet, tcpSocket, sleep), the
// node-side lifecycle of pods (init containers in order, postStart, preStop within the grace period,
// crash-loop backoff, kubelet status and events) and standalone liveness/readiness/startup probes of
// containers the host owns, by wrapping liblifehook's C ABI with cgo.
//
// The API: NewContext, Context.Run, Submit, SubmitChan, Cancel, Close; Context.NewPod and Pod
// (Start, Status, Watch, Terminate, Wait, ContainerExited, Destroy) with a Driver for host-owned
// containers; Context.StartProbe and Probe (State, Stop), ABI 1.1.
//
// It links liblifehook.so.1 found with pkg-config (Debian: liblifehook-dev). The header's ABI version
// is checked when this package is compiled, and the loaded library's lifehook_abi_version() before
// its first use: an incompatible library gives a *VersionError, never a crash.
//
//	ctx, err := lifehook.NewContext(nil)
//	if err != nil { ... }
//	defer ctx.Close()
//	res, err := ctx.Run(context.Background(), lifehook.Request{
//		Handler: lifehook.Handler{HTTPGet: &lifehook.HTTPGetAction{Path: "/healthz", Port: lifehook.IntPort(8080)}},
//		Target:  &lifehook.Target{PodIP: "127.0.0.1"},
//	})
//
// A probe calls back on every change of its published result, with the kubelet's thresholds:
//
//	p, err := ctx.StartProbe(`{"readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}`,
//		`{"podIP": "127.0.0.1"}`, func(state string) { log.Print(state) }) // {"result":"success",...}
//	if err != nil { ... }
//	defer p.Stop()
//
// Callbacks (Submit completions, pod events, probe changes, Driver methods) run on the library's
// threads; the library never holds a Go pointer, only a runtime/cgo.Handle that is deleted after its
// last use. No runtime.LockOSThread is needed, and the library installs no signal handler.
//
// The JSON documents (Request, Result, PodStatus, Event, a probe's state) follow the JSON Schemas installed in
// /usr/share/lifehook/schemas; their Raw fields keep every field, also those this package does not name.
package lifehook
