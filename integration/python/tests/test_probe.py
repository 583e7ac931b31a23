"""Standalone probes (ABI 1.1) from Python, against real sockets on 127.0.0.1."""
import json
import queue
import socket
import threading
import time

import pytest

import lifehook

TARGET = {"podIP": "127.0.0.1"}


def readiness_tcp(port):
    return {"readinessProbe": {"tcpSocket": {"port": port}, "periodSeconds": 1, "failureThreshold": 1}}


@pytest.fixture
def bound_socket():
    """A socket bound to 127.0.0.1 that does not listen yet: its port refuses connections until listen(),
    and no other process can take the port meanwhile."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    yield s
    s.close()


@pytest.fixture
def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    yield s
    s.close()


def wait_for(predicate, timeout=20):
    """Polls predicate() until it returns a true value (returned) or timeout seconds pass (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met within %ss" % timeout
        time.sleep(0.02)


def test_readiness_tcp_failure_then_success(ctx, bound_socket):
    states = queue.Queue()
    port = bound_socket.getsockname()[1]
    probe = ctx.start_probe(json.dumps(readiness_tcp(port)), json.dumps(TARGET), on_change=states.put)
    try:
        first = states.get(timeout=20)
        assert first["type"] == "readiness" and first["result"] == "failure", first
        # an attempt against the refusing port ran and failed before the socket listens
        s = wait_for(lambda: (lambda st: st if st["attempts"] >= 1 and "lastAttempt" in st else None)(probe.state()))
        assert s["result"] == "failure" and s["lastAttempt"]["result"] == "failure", s
        bound_socket.listen(64)
        second = states.get(timeout=20)
        assert second["result"] == "success" and second["lastAttempt"]["result"] == "success", second
        s = probe.state()
        assert s["result"] == "success" and s["consecutive"]["result"] == "success" and not s["stopped"], s
    finally:
        probe.stop()
    probe.stop()
    with pytest.raises(ValueError):
        probe.state()


def test_stop_from_callback(ctx, listener):
    seen = []
    started = threading.Event()
    outcome = queue.Queue()
    holder = {}

    def on_change(state):
        started.wait(20)  # the Probe is handed over once start_probe returned
        seen.append(state)
        if state["result"] != "success":
            return
        p = holder["probe"]
        try:
            during = p.state()
            p.stop()
            p.stop()
            try:
                p.state()
                outcome.put("state() after stop() did not raise")
            except ValueError:
                outcome.put(None if during["result"] == "success" else "state in callback: %r" % during)
        except Exception as e:  # reported to the test thread
            outcome.put(repr(e))

    holder["probe"] = ctx.start_probe(readiness_tcp(listener.getsockname()[1]), TARGET, on_change)
    started.set()
    assert outcome.get(timeout=20) is None
    holder["probe"].stop()  # after the callback's stop(): a no-op
    # A running probe would publish "failure" within a period of the listener closing: nothing comes.
    listener.close()
    time.sleep(2.5)
    assert [s["result"] for s in seen] == ["failure", "success"], seen


def test_context_manager_and_close_stop_probes(listener):
    port = listener.getsockname()[1]
    states = queue.Queue()
    ctx = lifehook.Context({"threads": 2})
    with ctx.start_probe(readiness_tcp(port), TARGET) as polled:
        wait_for(lambda: polled.state()["result"] == "success")
    with pytest.raises(ValueError):
        polled.state()
    with_callback = ctx.start_probe(readiness_tcp(port), TARGET, states.put)
    polled = ctx.start_probe(readiness_tcp(port), TARGET)
    assert [states.get(timeout=20)["result"] for _ in range(2)] == ["failure", "success"]
    ctx.close()
    for p in (with_callback, polled):
        with pytest.raises(ValueError):
            p.state()
        p.stop()
    assert states.empty()
    with pytest.raises(ValueError):
        ctx.start_probe(readiness_tcp(port), TARGET)


def test_invalid_probe_raises_with_path(ctx):
    with pytest.raises(lifehook.InvalidError) as e:
        ctx.start_probe({"livenessProbe": {"tcpSocket": {"port": 80}, "successThreshold": 2}}, TARGET,
                        lambda s: pytest.fail("a callback for a probe that did not start"))
    assert e.value.call == "lifehook_probe_start"
    assert "livenessProbe.successThreshold: must be 1" in e.value.message
    with pytest.raises(lifehook.InvalidError) as e:
        ctx.start_probe({"readinessProbe": {"tcpSocket": {"port": 80}}})
    assert "readinessProbe.tcpSocket.host" in e.value.message
    with pytest.raises(lifehook.InvalidError):
        ctx.start_probe("{nope")
