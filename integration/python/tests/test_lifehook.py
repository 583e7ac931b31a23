"""python3-lifehook against a real liblifehook.so.1: real processes, real servers on 127.0.0.1."""
import asyncio
import errno
import http.server
import os
import signal
import socket
import threading
import time

import pytest

import lifehook


class _Healthz(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 200 if self.path == "/healthz" else 503
        body = b"ok\n" if code == 200 else b"no\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def http_port():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Healthz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_abi_and_version():
    major, minor = lifehook.abi_version()
    assert major == 1 and minor >= 0
    assert lifehook.version().count(".") == 2


def test_exec_success_and_exit_code(ctx):
    r = ctx.run({"handler": {"exec": {"command": ["/bin/sh", "-c", "echo hi; exit 0"]}}})
    assert r.succeeded and r.exit_code == 0 and "hi" in r.output
    r = ctx.run({"handler": {"exec": {"command": ["/bin/sh", "-c", "exit 7"]}}})
    assert r.outcome == "failure" and r.exit_code == 7
    assert isinstance(r, dict) and r["exitCode"] == 7


def test_http_get_and_tcp(ctx, http_port):
    target = {"podIP": "127.0.0.1"}
    r = ctx.run({"handler": {"httpGet": {"path": "/healthz", "port": http_port}}, "target": target})
    assert r.succeeded and r.http_status == 200, r
    r = ctx.run({"handler": {"httpGet": {"path": "/other", "port": http_port}}, "target": target})
    assert r.outcome == "failure" and r.http_status == 503
    r = ctx.run({"handler": {"tcpSocket": {"port": http_port}}, "target": target})
    assert r.succeeded
    r = ctx.run({"handler": {"tcpSocket": {"port": closed_port()}}, "target": target})
    assert r.outcome == "failure"


def test_invalid_request_raises_with_status_name_and_path(ctx):
    with pytest.raises(lifehook.InvalidError) as e:
        ctx.run({"handler": {"exec": {"command": []}}})
    assert e.value.status == 1 and e.value.status_name == "LIFEHOOK_E_INVALID"
    assert "handler.exec.command" in e.value.message
    assert isinstance(e.value, ValueError) and isinstance(e.value, lifehook.LifehookError)
    with pytest.raises(lifehook.InvalidError):
        ctx.run("{not json")
    with pytest.raises(lifehook.InvalidError) as e:
        lifehook.Context({"threads": 0})
    assert "options.threads" in e.value.message


def test_submit_callback_and_result(ctx):
    seen = []
    done = threading.Event()

    def on_done(result):
        seen.append((threading.get_ident(), result))
        done.set()

    op = ctx.submit({"handler": {"exec": {"command": ["/bin/true"]}}}, on_done)
    assert op.id != 0
    assert op.result(10).succeeded
    assert done.wait(10)
    assert seen[0][0] != threading.get_ident()  # a library thread
    assert not op.cancel()  # already completed: LIFEHOOK_E_NOT_FOUND is False


def test_cancel_kills_the_handler(ctx, tmp_path):
    pidfile = tmp_path / "pid"
    op = ctx.submit({"handler": {"exec": {"command": ["/bin/sh", "-c", "echo $$$$ > %s; exec sleep 30" % pidfile]}}})
    deadline = time.monotonic() + 10
    while not (pidfile.exists() and pidfile.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.01)
    pid = int(pidfile.read_text())
    assert op.cancel()
    r = op.result(10)
    assert r.outcome == "canceled"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped


def test_timeout(ctx):
    r = ctx.run({"handler": {"sleep": {"seconds": 5}}, "timeoutMs": 100})
    assert r.outcome == "timeout"


def test_close_completes_pending_operations():
    ctx = lifehook.Context()
    ops = [ctx.submit({"handler": {"sleep": {"seconds": 30}}}) for _ in range(5)]
    ctx.close()
    assert [op.result(1).outcome for op in ops] == ["canceled"] * 5
    with pytest.raises(ValueError):
        ctx.run({"handler": {"sleep": {"seconds": 0}}})


def test_asyncio_gather_and_task_cancel(ctx):
    async def main():
        results = await asyncio.gather(
            *[ctx.run_async({"handler": {"exec": {"command": ["/bin/sh", "-c", "exit %d" % (i % 3)]}}})
              for i in range(24)])
        assert [r.exit_code for r in results] == [i % 3 for i in range(24)]
        # the event loop keeps running while handlers do
        ticks = 0
        task = asyncio.ensure_future(ctx.run_async({"handler": {"sleep": {"seconds": 30}}}))
        while ticks < 5:
            await asyncio.sleep(0.01)
            ticks += 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    start = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - start < 20


def test_many_threads(ctx, http_port):
    errors = []

    def worker(i):
        try:
            for _ in range(10):
                r = ctx.run({"handler": {"httpGet": {"path": "/healthz", "port": http_port, "host": "127.0.0.1"}}})
                assert r.succeeded, r
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors


def test_logger_receives_lines():
    lines = []
    with lifehook.Context({"logLevel": "debug"}, logger=lambda level, msg: lines.append((level, msg)),
                          log_level=0) as ctx:
        ctx.run({"handler": {"exec": {"command": ["/bin/true"]}}})
    assert lines and all(isinstance(level, int) and isinstance(m, str) for level, m in lines)


def two_container_pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "uid": name + "-uid"},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 2,
                     "containers": [{"name": "first", "command": ["/bin/sh", "-c", "sleep 0.1"]},
                                    {"name": "second", "command": ["/bin/sh", "-c", "sleep 0.2"]}]}}


def test_pod_process_driver(ctx):
    events = []
    pod = ctx.pod(two_container_pod("py-pod"))
    pod.watch(events.append)
    pod.start()
    assert pod.wait(20)
    status = pod.status()
    assert status["phase"] == "Succeeded", status
    assert {c["name"] for c in status["containerStatuses"]} == {"first", "second"}
    assert any(e["reason"] == "Started" and e["container"] == "first" for e in events), events
    pod.destroy()
    with pytest.raises(ValueError):
        pod.status()


def test_pod_wait_timeout_and_terminate(ctx):
    pod = ctx.pod({"metadata": {"name": "py-long"},
                   "spec": {"terminationGracePeriodSeconds": 1,
                            "containers": [{"name": "long", "command": ["/bin/sleep", "30"]}]}})
    pod.start()
    assert pod.wait(0.2) is False
    start = time.monotonic()
    pod.terminate(500)
    assert time.monotonic() - start < 10
    assert pod.wait(5)
    st = pod.status()["containerStatuses"][0]["state"]
    assert "terminated" in st, st
    pod.destroy()


class FakeRuntime(lifehook.Driver):
    """Host-owned containers as bookkeeping: 'app' exits 0 on SIGTERM; 'broken' cannot start."""

    def __init__(self):
        self.pod = None
        self.started, self.signals, self.removed = [], [], []

    def start(self, pod_uid, container):
        if container["name"] == "broken":
            raise OSError(errno.ENOENT, "no such image")
        self.started.append((pod_uid, container["name"]))
        if container["name"] == "job":
            threading.Timer(0.05, lambda: self.pod.container_exited("job", 0)).start()
        return {"pid": os.getpid()}

    def signal(self, pod_uid, name, signo):
        self.signals.append((name, signo))
        if signo in (signal.SIGTERM, signal.SIGKILL):
            threading.Thread(target=lambda: self.pod.container_exited(name, 0, 0)).start()

    def remove(self, pod_uid, name):
        self.removed.append(name)


def test_pod_with_python_driver(ctx):
    runtime = FakeRuntime()
    pod = ctx.pod({"metadata": {"name": "py-driver", "uid": "u-1"},
                   "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 2,
                            "initContainers": [{"name": "job", "image": "busybox"}],
                            "containers": [{"name": "app", "image": "busybox"}]}}, driver=runtime)
    runtime.pod = pod
    pod.start()
    deadline = time.monotonic() + 10
    while pod.status()["phase"] != "Running" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pod.status()["phase"] == "Running"
    assert [n for _, n in runtime.started] == ["job", "app"]
    assert all(uid == "u-1" for uid, _ in runtime.started)
    pod.terminate(1000)
    assert ("app", signal.SIGTERM) in runtime.signals
    pod.destroy()


def test_driver_start_failure_is_reported(ctx):
    runtime = FakeRuntime()
    events = []
    pod = ctx.pod({"metadata": {"name": "py-broken"},
                   "spec": {"restartPolicy": "Never", "containers": [{"name": "broken", "image": "x"}]}},
                  driver=runtime)
    runtime.pod = pod
    pod.watch(events.append)
    pod.start()
    deadline = time.monotonic() + 10
    while not any(e["type"] == "Warning" for e in events) and time.monotonic() < deadline:
        time.sleep(0.02)
    warnings = [e for e in events if e["type"] == "Warning"]
    assert warnings and "no such image" in warnings[0]["message"], events
    pod.destroy()
