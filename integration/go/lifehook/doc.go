// Package lifehook runs Kubernetes container lifecycle handlers (exec, httpGet, tcpSocket, sleep) and
// the node-side lifecycle of pods (init containers in order, postStart, preStop within the grace
// period, crash-loop backoff, kubelet status and events) by wrapping liblifehook's C ABI with cgo.
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
// Callbacks (Submit completions, pod events, Driver methods) run on the library's threads; the library
// never holds a Go pointer, only a runtime/cgo.Handle that is deleted after its last use. No
// runtime.LockOSThread is needed, and the library installs no signal handler.
//
// The JSON documents (Request, Result, PodStatus, Event) follow the JSON Schemas installed in
// /usr/share/lifehook/schemas; their Raw fields keep every field, also those this package does not name.
package lifehook
