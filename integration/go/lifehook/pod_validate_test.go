package lifehook_test

import (
	"encoding/json"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"lifehook.io/lifehook"
)

func hasPath(issues []lifehook.ValidationIssue, path string) bool {
	for _, i := range issues {
		if i.Path == path {
			return true
		}
	}
	return false
}

// A Driver whose methods must not be called (ValidatePod creates and starts nothing).
type untouchedDriver struct{ t *testing.T }

func (d untouchedDriver) Start(string, json.RawMessage) (*lifehook.ContainerInfo, error) {
	d.t.Error("ValidatePod called Driver.Start")
	return nil, syscall.EIO
}
func (d untouchedDriver) Signal(string, string, syscall.Signal) error {
	d.t.Error("ValidatePod called Driver.Signal")
	return nil
}
func (d untouchedDriver) Remove(string, string) error {
	d.t.Error("ValidatePod called Driver.Remove")
	return nil
}

func TestValidatePodReportsEveryProblemAndWarning(t *testing.T) {
	ctx := newContext(t)
	// Valid, with a field the process driver ignores: a warning, never silence.
	good := twoContainerPod("go-valid")
	good["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "busybox"
	r, err := ctx.ValidatePod(good, nil, nil)
	if err != nil || !r.Valid || len(r.Problems) != 0 || !hasPath(r.Warnings, "spec.containers[0].image") {
		t.Fatalf("%v %s", err, r.Raw)
	}

	// Every problem at once, each with its path; the error is NewPod's, first problem first.
	bad := `{"metadata": {"name": "go-bad"}, "spec": {"restartPolicy": "Sometimes", "containers": [
		{"name": "Web_1", "command": ["true"]}, {"name": "b", "command": ["sleep", 1]}]}}`
	r, err = ctx.ValidatePod(bad, nil, nil)
	var e *lifehook.Error
	if !errors.As(err, &e) || !errors.Is(err, lifehook.ErrInvalid) || e.Call != "lifehook_pod_validate" || r.Valid {
		t.Fatalf("%v %s", err, r.Raw)
	}
	for _, path := range []string{"spec.restartPolicy", "spec.containers[0].name", "spec.containers[1].command[1]"} {
		if !hasPath(r.Problems, path) {
			t.Errorf("no problem at %s in %s", path, r.Raw)
		}
	}
	_, createErr := ctx.NewPod(bad, nil, nil)
	var ce *lifehook.Error
	if !errors.As(createErr, &ce) || ce.Status != e.Status || ce.Message != e.Message {
		t.Errorf("NewPod says %v, ValidatePod %v", createErr, err)
	}

	// Options are validated too; a Go Driver only tells which fields the host implements.
	r, err = ctx.ValidatePod(good, &lifehook.PodOptions{Driver: "teleport"}, nil)
	if !errors.Is(err, lifehook.ErrInvalid) || !hasPath(r.Problems, "options.driver") {
		t.Fatalf("%v %s", err, r.Raw)
	}
	if r, err = ctx.ValidatePod(good, nil, untouchedDriver{t}); err != nil || !r.Valid {
		t.Fatalf("%v %s", err, r.Raw)
	}
	if r, err = ctx.ValidatePod("{nope", nil, nil); !errors.Is(err, lifehook.ErrInvalid) || !hasPath(r.Problems, "pod") {
		t.Fatalf("%v %s", err, r.Raw)
	}
	ctx.Close()
	if _, err := ctx.ValidatePod(good, nil, nil); !errors.Is(err, lifehook.ErrClosed) {
		t.Fatal(err)
	}
}

func condition(st lifehook.PodStatus, condType string) *lifehook.PodCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == condType {
			return &st.Conditions[i]
		}
	}
	return nil
}

func TestSetConditionGatesReadiness(t *testing.T) {
	ctx := newContext(t)
	pod, err := ctx.NewPod(`{"metadata": {"name": "go-gated"}, "spec": {"terminationGracePeriodSeconds": 1,
		"readinessGates": [{"conditionType": "example.com/lb"}],
		"containers": [{"name": "web", "command": ["/bin/sleep", "30"]}]}}`, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pod.Destroy()
	if err := pod.Start(); err != nil {
		t.Fatal(err)
	}
	var st lifehook.PodStatus
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if st, err = pod.Status(); err != nil {
			t.Fatal(err)
		}
		if len(st.ContainerStatuses) == 1 && st.ContainerStatuses[0].Ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("container not ready: %s", st.Raw)
		}
	}
	// The container is ready, the pod is not: its gate's condition does not exist yet.
	if c := condition(st, "Ready"); c == nil || c.Status != "False" || c.Reason != "ReadinessGatesNotReady" ||
		!strings.Contains(c.Message, `"example.com/lb"`) {
		t.Fatalf("%s", st.Raw)
	}
	err = pod.SetCondition(lifehook.PodCondition{Type: "example.com/lb", Status: "True", Reason: "Registered",
		Message: "in the load balancer"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err = pod.Status(); err != nil {
		t.Fatal(err)
	}
	gate, ready := condition(st, "example.com/lb"), condition(st, "Ready")
	if gate == nil || gate.Status != "True" || gate.Reason != "Registered" || gate.Message != "in the load balancer" ||
		gate.LastTransitionTime == "" || ready == nil || ready.Status != "True" {
		t.Fatalf("%s", st.Raw)
	}
	// The kubelet's own conditions and unknown statuses are refused.
	for _, c := range []lifehook.PodCondition{{Type: "Ready", Status: "True"}, {Type: "example.com/lb", Status: "Maybe"}} {
		var e *lifehook.Error
		if err := pod.SetCondition(c); !errors.As(err, &e) || e.Status != lifehook.StatusInvalid {
			t.Errorf("%+v: %v", c, err)
		}
	}
	pod.Destroy()
	if err := pod.SetCondition(lifehook.PodCondition{Type: "example.com/lb", Status: "False"}); !errors.Is(err, lifehook.ErrClosed) {
		t.Fatal(err)
	}
}
