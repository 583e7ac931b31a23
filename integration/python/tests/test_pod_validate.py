"""Context.validate_pod (lifehook_pod_validate) and Pod.set_condition (lifehook_pod_set_condition)."""
import time

import pytest

import lifehook


def pod_doc(name, containers, **spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": dict(spec, containers=containers)}


def paths(issues):
    return [i["path"] for i in issues]


class Untouched(lifehook.Driver):
    """validate_pod must not call a driver."""

    def __init__(self):
        self.calls = []

    def start(self, pod_uid, container):
        self.calls.append("start")

    def signal(self, pod_uid, name, signo):
        self.calls.append("signal")

    def remove(self, pod_uid, name):
        self.calls.append("remove")


def test_validate_pod_valid_with_warnings(ctx):
    report = ctx.validate_pod(pod_doc("py-valid", [{"name": "web", "image": "busybox", "command": ["true"]}]))
    assert report["valid"] is True and report["problems"] == [], report
    # The process driver runs commands, not images: said so, never silently.
    assert "spec.containers[0].image" in paths(report["warnings"]), report
    driver = Untouched()
    assert ctx.validate_pod(pod_doc("py-valid", [{"name": "web", "command": ["true"]}]), driver=driver)["valid"]
    assert driver.calls == []


def test_validate_pod_reports_every_problem_as_pod_would(ctx):
    bad = pod_doc("py-bad", [{"name": "Web_1", "command": ["true"]}, {"name": "b", "command": ["sleep", 1]}],
                  restartPolicy="Sometimes")
    with pytest.raises(lifehook.InvalidError) as validated:
        ctx.validate_pod(bad)
    report = validated.value.report
    assert report["valid"] is False
    for path in ("spec.restartPolicy", "spec.containers[0].name", "spec.containers[1].command[1]"):
        assert path in paths(report["problems"]), report
    assert validated.value.status_name == "LIFEHOOK_E_INVALID"
    assert validated.value.call == "lifehook_pod_validate"
    # The same verdict and message as creating the pod.
    with pytest.raises(lifehook.InvalidError) as created:
        ctx.pod(bad)
    assert created.value.message == validated.value.message
    first = report["problems"][0]
    assert validated.value.message == "%s: %s" % (first["path"], first["message"])

    with pytest.raises(lifehook.InvalidError) as options:
        ctx.validate_pod(pod_doc("py-opt", [{"name": "web", "command": ["true"]}]), {"driver": "teleport"})
    assert "options.driver" in paths(options.value.report["problems"])
    with pytest.raises(lifehook.InvalidError) as text:
        ctx.validate_pod("{nope")
    assert paths(text.value.report["problems"]) == ["pod"]


def condition(status, condition_type):
    return next((c for c in status["conditions"] if c["type"] == condition_type), None)


def test_set_condition_gates_readiness(ctx):
    pod = ctx.pod(pod_doc("py-gated", [{"name": "web", "command": ["/bin/sleep", "30"]}],
                          terminationGracePeriodSeconds=1, readinessGates=[{"conditionType": "example.com/lb"}]))
    try:
        pod.start()
        deadline = time.monotonic() + 10
        while True:
            status = pod.status()
            if status["containerStatuses"] and status["containerStatuses"][0]["ready"]:
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.02)
        ready = condition(status, "Ready")
        assert ready["status"] == "False" and ready["reason"] == "ReadinessGatesNotReady", status
        assert '"example.com/lb"' in ready["message"], status

        pod.set_condition("example.com/lb", True, reason="Registered", message="in the load balancer")
        status = pod.status()
        gate = condition(status, "example.com/lb")
        assert gate["status"] == "True" and gate["reason"] == "Registered", status
        assert gate["message"] == "in the load balancer" and gate["lastTransitionTime"], status
        assert condition(status, "Ready")["status"] == "True", status

        # The kubelet's own conditions and unknown statuses are refused.
        with pytest.raises(lifehook.InvalidError):
            pod.set_condition("Ready", "True")
        with pytest.raises(lifehook.InvalidError):
            pod.set_condition("example.com/lb", "Maybe")
    finally:
        pod.destroy()
    with pytest.raises(ValueError):
        pod.set_condition("example.com/lb", "False")
