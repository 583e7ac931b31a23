package lifehook

import (
	"encoding/json"
	"strconv"
)

// Request is one handler and where it runs (request.schema.json). Kubernetes v1 field names.
type Request struct {
	Handler   Handler `json:"handler"`
	Target    *Target `json:"target,omitempty"`
	TimeoutMs float64 `json:"timeoutMs,omitempty"`
	// Purpose: "postStart", "preStop", "liveness", "readiness", "startup" or "oneshot" (default).
	Purpose string `json:"purpose,omitempty"`
}

// Handler holds exactly one action, as a Kubernetes LifecycleHandler.
type Handler struct {
	Exec      *ExecAction      `json:"exec,omitempty"`
	HTTPGet   *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket *TCPSocketAction `json:"tcpSocket,omitempty"`
	Sleep     *SleepAction     `json:"sleep,omitempty"`
}

type ExecAction struct {
	Command []string `json:"command"`
}

type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type HTTPGetAction struct {
	Path        string       `json:"path,omitempty"`
	Port        Port         `json:"port"`
	Host        string       `json:"host,omitempty"`
	Scheme      string       `json:"scheme,omitempty"`
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty"`
}

type TCPSocketAction struct {
	Port Port   `json:"port"`
	Host string `json:"host,omitempty"`
}

type SleepAction struct {
	Seconds float64 `json:"seconds"`
}

// Port is a port number or the name of one of Target.Ports (Kubernetes IntOrString).
type Port struct {
	Number int
	Name   string
}

// IntPort and NamedPort build a Port.
func IntPort(n int) Port         { return Port{Number: n} }
func NamedPort(name string) Port { return Port{Name: name} }

func (p Port) MarshalJSON() ([]byte, error) {
	if p.Name != "" {
		return json.Marshal(p.Name)
	}
	return []byte(strconv.Itoa(p.Number)), nil
}

func (p *Port) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &p.Name)
	}
	return json.Unmarshal(b, &p.Number)
}

type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int    `json:"containerPort"`
}

type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Target is where the handler runs: the pod's address, ports, environment, and optionally a running
// container (Pid + Bundle) or a network namespace.
type Target struct {
	PodIP       string          `json:"podIP,omitempty"`
	Ports       []ContainerPort `json:"ports,omitempty"`
	Env         []EnvVar        `json:"env,omitempty"`
	WorkingDir  string          `json:"workingDir,omitempty"`
	Pid         int             `json:"pid,omitempty"`
	Bundle      string          `json:"bundle,omitempty"`
	ExecMode    string          `json:"execMode,omitempty"`
	Runtime     string          `json:"runtime,omitempty"`
	RuntimeRoot string          `json:"runtimeRoot,omitempty"`
	Netns       string          `json:"netns,omitempty"`
}

// Outcome of a handler.
type Outcome string

const (
	Success  Outcome = "success"
	Failure  Outcome = "failure"
	Timeout  Outcome = "timeout"
	Canceled Outcome = "canceled"
	Errored  Outcome = "error"
)

// Result is a handler's outcome (result.schema.json). Fields that do not apply are nil/zero.
type Result struct {
	Outcome    Outcome  `json:"outcome"`
	Message    string   `json:"message"`
	DurationMs float64  `json:"durationMs"`
	ExitCode   *int     `json:"exitCode,omitempty"`
	Signal     int      `json:"signal,omitempty"`
	HTTPStatus *int     `json:"httpStatus,omitempty"`
	Output     string   `json:"output,omitempty"`
	Truncated  bool     `json:"truncated,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	// Raw is the document as the library wrote it.
	Raw json.RawMessage `json:"-"`
}

// Succeeded reports Outcome == Success.
func (r Result) Succeeded() bool { return r.Outcome == Success }

func parseResult(text string) Result {
	var r Result
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		r = Result{Outcome: Errored, Message: "lifehook: unreadable result: " + err.Error()}
	}
	r.Raw = json.RawMessage(text)
	return r
}

// Options of a Context (context-options.schema.json); the zero value means the library's defaults.
type Options struct {
	Threads        int    `json:"threads,omitempty"`
	LogLevel       string `json:"logLevel,omitempty"`
	MaxOutputBytes *int   `json:"maxOutputBytes,omitempty"`
	UserAgent      string `json:"userAgent,omitempty"`
	KubeletCompat  bool   `json:"kubeletCompat,omitempty"`
	VerifyTLS      bool   `json:"verifyTLS,omitempty"`
}

// Event is one pod event (event.schema.json).
type Event struct {
	Type      string          `json:"type"` // Normal or Warning
	Reason    string          `json:"reason"`
	Message   string          `json:"message"`
	Container string          `json:"container"`
	Pod       string          `json:"pod"`
	Time      string          `json:"time"`
	Raw       json.RawMessage `json:"-"`
}

// PodStatus is the status of a pod (pod-status.schema.json); Raw holds every field.
type PodStatus struct {
	Phase                 string            `json:"phase"`
	Conditions            []PodCondition    `json:"conditions"`
	PodIP                 string            `json:"podIP"`
	StartTime             string            `json:"startTime,omitempty"`
	Terminating           bool              `json:"terminating"`
	InitContainerStatuses []ContainerStatus `json:"initContainerStatuses"`
	ContainerStatuses     []ContainerStatus `json:"containerStatuses"`
	Display               struct {
		Status       string `json:"status"`
		Ready        string `json:"ready"`
		Restarts     string `json:"restarts"`
		RestartCount int    `json:"restartCount"`
	} `json:"display"`
	Raw json.RawMessage `json:"-"`
}

// PodCondition is one of the status' conditions; Pod.SetCondition takes one (Type, Status, and
// optionally Reason and Message: LastTransitionTime is the library's).
type PodCondition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
	LastTransitionTime string `json:"lastTransitionTime,omitempty"`
}

type ContainerStatus struct {
	Name         string         `json:"name"`
	State        ContainerState `json:"state"`
	LastState    ContainerState `json:"lastState"`
	Ready        bool           `json:"ready"`
	Started      bool           `json:"started"`
	RestartCount int            `json:"restartCount"`
}

type ContainerState struct {
	Waiting *struct {
		Reason  string `json:"reason"`
		Message string `json:"message,omitempty"`
	} `json:"waiting,omitempty"`
	Running *struct {
		StartedAt string `json:"startedAt"`
	} `json:"running,omitempty"`
	Terminated *struct {
		ExitCode   int    `json:"exitCode"`
		Signal     int    `json:"signal"`
		Reason     string `json:"reason"`
		Message    string `json:"message,omitempty"`
		StartedAt  string `json:"startedAt"`
		FinishedAt string `json:"finishedAt"`
	} `json:"terminated,omitempty"`
}

// PodOptions of NewPod (pod-options.schema.json); zero values mean the library's defaults.
type PodOptions struct {
	Driver           string `json:"driver,omitempty"` // "process" (default) or "oci" when no Driver is given
	BackoffInitialMs *int64 `json:"backoffInitialMs,omitempty"`
	BackoffMaxMs     *int64 `json:"backoffMaxMs,omitempty"`
	BackoffResetMs   *int64 `json:"backoffResetMs,omitempty"`
	// The oci driver's settings.
	Runtime  string `json:"runtime,omitempty"`
	Root     string `json:"root,omitempty"`
	StateDir string `json:"stateDir,omitempty"`
	Rootfs   string `json:"rootfs,omitempty"`
	Network  string `json:"network,omitempty"`
	Seccomp  string `json:"seccomp,omitempty"`
	ExecMode string `json:"execMode,omitempty"`
}

// document marshals v unless it already is JSON text ([]byte, string, json.RawMessage).
func document(v any) (string, error) {
	switch d := v.(type) {
	case nil:
		return "", nil
	case string:
		return d, nil
	case []byte:
		return string(d), nil
	case json.RawMessage:
		return string(d), nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}
