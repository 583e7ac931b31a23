"""The JSON Schemas of docs/schemas (installed in /usr/share/lifehook/schemas) against what the real
library and the real CLI emit and accept: results of every outcome, pod status through a pod's life,
events, options. Also: documents the library rejects are rejected by the schema, and the reverse, for a
set of edge cases, so that the schemas cannot drift into describing something else.

Environment: LIFEHOOK_SCHEMA_DIR (default docs/schemas), LIFEHOOK_BIN (the lifehook CLI; its tests are
skipped without it), LD_LIBRARY_PATH for a build tree. Needs Debian's python3-jsonschema and
python3-pytest; runs under /usr/bin/python3."""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import http.server

import jsonschema
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
if os.environ.get("LIFEHOOK_PYTHON_INSTALLED") != "1":
    sys.path.insert(0, os.path.join(REPO, "integration", "python"))
import lifehook  # noqa: E402

SCHEMA_DIR = os.environ.get("LIFEHOOK_SCHEMA_DIR", os.path.join(REPO, "docs", "schemas"))
NAMES = ["request", "result", "pod-status", "event", "context-options", "pod-options"]


def load(name):
    with open(os.path.join(SCHEMA_DIR, name + ".schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


V = {n: load(n) for n in NAMES}


def valid(name, doc):
    errors = sorted(V[name].iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "%s does not match %s.schema.json: %s" % (
        json.dumps(doc), name, "; ".join("%s: %s" % ("/".join(map(str, e.path)), e.message) for e in errors))
    return doc


def invalid(name, doc):
    assert not V[name].is_valid(doc), "%s.schema.json accepts %s" % (name, json.dumps(doc))


class _Server(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 200 if self.path == "/ok" else 500
        self.send_response(code)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def port():
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    yield s.server_address[1]
    s.shutdown()
    s.server_close()


@pytest.fixture
def ctx():
    with lifehook.Context({"threads": 2, "maxOutputBytes": 16}) as c:
        yield c


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def requests(port):
    t = {"podIP": "127.0.0.1", "ports": [{"name": "web", "containerPort": port}], "env": [{"name": "A", "value": "b"}]}
    return [
        {"handler": {"exec": {"command": ["/bin/sh", "-c", "echo $(A)"]}}, "target": t, "purpose": "postStart"},
        {"handler": {"exec": {"command": ["/bin/sh", "-c", "exit 3"]}}},
        {"handler": {"exec": {"command": ["/bin/sh", "-c", "head -c 100 /dev/zero | tr '\\0' x"]}}},
        {"handler": {"exec": {"command": ["/nonexistent/binary"]}}},
        {"handler": {"httpGet": {"path": "/ok", "port": "web", "httpHeaders": [{"name": "X-A", "value": "1"}]}},
         "target": t},
        {"handler": {"httpGet": {"path": "/bad", "port": port, "host": "127.0.0.1", "scheme": "HTTP"}}},
        {"handler": {"tcpSocket": {"port": port, "host": "127.0.0.1"}}, "purpose": "readiness"},
        {"handler": {"tcpSocket": {"port": free_port(), "host": "127.0.0.1"}}},
        {"handler": {"sleep": {"seconds": 0.01}}, "purpose": "preStop"},
        {"handler": {"sleep": {"seconds": 5}}, "timeoutMs": 50},
        {"handler": {"exec": {"command": ["/bin/true"]}}, "target": {"netns": "/nonexistent/netns"}},
        {"handler": {"httpGet": {"port": port}}, "target": {"podIP": "127.0.0.1", "netns": "/nonexistent/ns"}},
    ]


def test_schemas_are_valid_and_installed_set_is_complete():
    assert sorted(f for f in os.listdir(SCHEMA_DIR) if f.endswith(".schema.json")) == sorted(
        n + ".schema.json" for n in NAMES)


def test_every_outcome_of_real_handlers_matches_result_schema(ctx, port):
    outcomes = set()
    for req in requests(port):
        valid("request", req)
        r = valid("result", dict(ctx.run(req)))
        outcomes.add(r["outcome"])
    op = ctx.submit({"handler": {"sleep": {"seconds": 30}}})
    ctx.cancel(op.id)
    outcomes.add(valid("result", dict(op.result(10)))["outcome"])
    assert outcomes == {"success", "failure", "timeout", "canceled", "error"}


# Edge cases: (document, accepted by the library?). The schema must agree on each.
REQUEST_CASES = [
    ({"handler": {"exec": {"command": []}}}, False),
    ({"handler": {"exec": {"command": [1]}}}, False),
    ({"handler": {}}, False),
    ({"handler": {"exec": {"command": ["/bin/true"]}, "sleep": {"seconds": 1}}}, False),
    ({"handler": {"sleep": {"seconds": -1}}}, False),
    ({"handler": {"sleep": {}}}, False),
    ({"handler": {"sleep": {"seconds": 0}}, "timeoutMs": -5}, False),
    ({"handler": {"sleep": {"seconds": 0}}, "purpose": "bogus"}, False),
    ({"handler": {"tcpSocket": {"host": "127.0.0.1", "port": 70000}}}, False),
    ({"handler": {"sleep": {"seconds": 0}}, "target": {"netns": "relative"}}, False),
    ({"handler": {"sleep": {"seconds": 0}}, "target": {"execMode": "vm"}}, False),
    ({"handler": {"sleep": {"seconds": 0}}, "target": {"env": [{"name": "A=B", "value": "x"}]}}, False),
    ({"handler": {"sleep": {"seconds": 0}}, "timeoutMs": 10, "purpose": "startup"}, True),
    ({"handler": {"tcpSocket": {"host": "127.0.0.1", "port": 1}}, "timeoutMs": 1}, True),
]


@pytest.mark.parametrize("doc,accepted", REQUEST_CASES)
def test_request_schema_agrees_with_the_library(ctx, doc, accepted):
    try:
        ctx.run(doc)
        library = True
    except lifehook.InvalidError:
        library = False
    assert library == accepted, "library %s %s" % ("accepts" if library else "rejects", json.dumps(doc))
    assert V["request"].is_valid(doc) == accepted, "schema disagrees on %s" % json.dumps(doc)


OPTION_CASES = [
    ({"threads": 4, "logLevel": "info", "maxOutputBytes": 0, "userAgent": "x", "kubeletCompat": True,
      "verifyTLS": True}, True),
    ({"logLevel": 2}, True),
    ({"threads": 0}, False),
    ({"threads": 65}, False),
    ({"logLevel": "loud"}, False),
    ({"maxOutputBytes": -1}, False),
    ({"kubeletCompat": "yes"}, False),
]


@pytest.mark.parametrize("doc,accepted", OPTION_CASES)
def test_context_options_schema_agrees_with_the_library(doc, accepted):
    try:
        lifehook.Context(doc).close()
        library = True
    except lifehook.InvalidError:
        library = False
    assert library == accepted
    assert V["context-options"].is_valid(doc) == accepted


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "schema-pod"},
       "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                "initContainers": [{"name": "init", "command": ["/bin/sh", "-c", "sleep 0.1"]}],
                "containers": [{"name": "app", "command": ["/bin/sh", "-c", "sleep 30"],
                                "lifecycle": {"postStart": {"exec": {"command": ["/bin/true"]}},
                                              "preStop": {"exec": {"command": ["/bin/false"]}}}},
                               {"name": "fails", "command": ["/bin/sh", "-c", "exit 3"]}]}}


POD_OPTION_CASES = [
    ({"driver": "process", "backoffInitialMs": 10, "backoffMaxMs": 100, "backoffResetMs": 1000}, True),
    ({"driver": "teleport"}, False),
    ({"backoffInitialMs": -1}, False),
    ({"driver": 3}, False),
]


@pytest.mark.parametrize("doc,accepted", POD_OPTION_CASES)
def test_pod_options_schema_agrees_with_the_library(ctx, doc, accepted):
    try:
        ctx.pod(POD, doc).destroy()
        library = True
    except lifehook.InvalidError:
        library = False
    assert library == accepted
    assert V["pod-options"].is_valid(doc) == accepted


def test_pod_status_and_events_through_a_pods_life(ctx):
    events = []
    pod = ctx.pod(POD, {"backoffInitialMs": 10})
    pod.watch(events.append)
    phases = set()
    valid("pod-status", pod.status())
    pod.start()
    deadline = time.monotonic() + 20
    seen_running = False
    while time.monotonic() < deadline:
        st = valid("pod-status", pod.status())
        phases.add(st["phase"])
        states = [c["state"] for c in st["containerStatuses"]]
        if any("running" in s for s in states) and any("terminated" in s for s in states):
            seen_running = True
            break
        time.sleep(0.02)
    assert seen_running, pod.status()
    terminator = threading.Thread(target=pod.terminate, args=(1000,))
    terminator.start()
    while terminator.is_alive():
        phases.add(valid("pod-status", pod.status())["phase"])
        time.sleep(0.01)
    final = valid("pod-status", pod.status())
    phases.add(final["phase"])
    pod.destroy()
    assert {"Pending", "Running"} <= phases, phases
    assert final["phase"] == "Failed", final
    assert len(events) >= 6
    for e in events:
        valid("event", e)
    reasons = {e["reason"] for e in events}
    assert {"Started", "Killing"} <= reasons, reasons
    assert any(e["type"] == "Warning" for e in events), events  # the failing preStop


def cli():
    path = os.environ.get("LIFEHOOK_BIN")
    if not path:
        pytest.skip("LIFEHOOK_BIN not set")
    return path


def handler_json(stdin_text):
    p = subprocess.run([cli(), "handler", "-", "-o", "json"], input=stdin_text.encode(), capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_cli_handler_stdin_json_interface(port):
    for req in requests(port):
        rc, out, err = handler_json(json.dumps(req))
        doc = valid("result", json.loads(out))
        assert rc == (0 if doc["outcome"] == "success" else 1), (req, rc, out, err)
    # a bare handler (no "handler" wrapper) is accepted too, and YAML
    rc, out, _ = handler_json('{"exec": {"command": ["/bin/true"]}}')
    assert rc == 0 and valid("result", json.loads(out))["outcome"] == "success"
    rc, out, _ = handler_json("exec:\n  command: [/bin/sh, -c, 'exit 4']\n")
    assert rc == 1 and json.loads(out)["exitCode"] == 4


def test_cli_handler_invalid_request_is_a_json_error(port):
    rc, out, err = handler_json(json.dumps({"handler": {"exec": {"command": []}}}))
    assert rc == 2
    doc = json.loads(out)
    assert doc["status"] == "LIFEHOOK_E_INVALID" and "handler.exec.command" in doc["error"], out
    assert "handler.exec.command" in err
    rc, out, err = handler_json("{not json")
    assert rc == 2 and json.loads(out)["status"] == "LIFEHOOK_E_INVALID", (out, err)
