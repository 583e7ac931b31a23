#!/usr/bin/env python3
"""Tests of the `lifehook` command: the real binary, real processes, loopback servers.

Run by CTest (tests/cli/CMakeLists.txt) with LIFEHOOK_BIN and LIFEHOOK_EXAMPLES set; one
CTest entry per class. Every test copies the example it runs with fresh loopback ports and its
own temporary directory, so tests can run side by side and the examples stay readable.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

BIN = os.environ.get("LIFEHOOK_BIN", "lifehook")
EXAMPLES = os.environ.get("LIFEHOOK_EXAMPLES", os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
EXAMPLE_PORTS = (13306, 16379, 18080, 18081, 18082, 18083, 18084)
# A real gRPC health server on Debian's python3-grpcio (its own interpreter: /usr/bin/python3).
GRPC_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "servers", "grpc_health_server.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path="/", timeout=5.0):
    """GET, retried until the server listens (Running does not mean listening yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                return r.status, r.read().decode()
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def processes_mentioning(text):
    """PIDs whose command line contains `text` (to prove nothing is left behind)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and "test_cli.py" not in cmdline:
            found.append((int(pid), cmdline))
    return found


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="lifehook-cli-test-")
        self.dir = self.tmp.name
        self.ports = {p: free_port() for p in EXAMPLE_PORTS}

    def tearDown(self):
        left = processes_mentioning(self.dir)
        for pid, _ in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.tmp.cleanup()
        self.assertEqual(left, [], "processes left behind")

    def example(self, name):
        """The example with this test's ports and directories; returns its path."""
        with open(os.path.join(EXAMPLES, name)) as f:
            text = f.read()
        for old, new in self.ports.items():
            text = text.replace(str(old), str(new))
        text = text.replace("/tmp/lifehook-", self.dir + "/lifehook-")
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def cli(self, *args, stdin=None, timeout=30):
        return subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True, timeout=timeout)


class Watch:
    """A running `lifehook run`, its stdout lines collected with their arrival times."""

    def __init__(self, *args):
        self.start = time.monotonic()
        self.proc = subprocess.Popen([BIN, "run", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []  # (seconds since start, line)
        self.cond = threading.Condition()
        self.stderr = ""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.err_reader = threading.Thread(target=self._read_err, daemon=True)
        self.err_reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append((time.monotonic() - self.start, line.rstrip("\n")))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _read_err(self):
        self.stderr = self.proc.stderr.read()

    def wait_line(self, predicate, timeout=10.0):
        """First (time, line) matching predicate, waiting up to timeout; None otherwise."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, line in self.lines:
                    if predicate(line):
                        return t, line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    return None
                self.cond.wait(min(left, 0.1))

    def wait_status(self, status, timeout=10.0):
        return self.wait_line(lambda l: len(l.split()) >= 3 and l.split()[2] == status, timeout)

    def finish(self, timeout=30.0):
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(5)
        self.err_reader.join(5)
        return rc, time.monotonic() - self.start

    def statuses(self):
        return [l.split()[2] for _, l in self.lines if re.match(r"^\S+\s+\d+/\d+\s", l)]

    def text(self):
        return "\n".join(l for _, l in self.lines)

    def kill(self):
        """Cleanup after a failed test: stop the pod the way a user would (a SIGKILLed CLI would
        leave its containers behind), then make sure."""
        for sig, wait in ((signal.SIGINT, 1.0), (signal.SIGINT, 5.0), (signal.SIGKILL, 5.0)):
            if self.proc.poll() is not None:
                break
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                pass
        self.reader.join(5)
        self.err_reader.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()


def running_oci_container(runc, root, id_prefix):
    """`runc list` entry (id, pid, bundle, ...) of the running container whose id starts so; or None."""
    r = subprocess.run([runc, "--root", root, "list", "-f", "json"], capture_output=True, text=True)
    for c in json.loads(r.stdout or "null") or []:
        if c["id"].startswith(id_prefix) and c["status"] == "running":
            return c
    return None


def ordered_subsequence(expected, actual):
    it = iter(actual)
    return all(any(e == a for a in it) for e in expected)


POD = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
{spec}"""


class Manifests(CliTestCase):
    """validate (and run) on the examples and on broken manifests: exact messages, exit 2."""

    def test_examples_are_valid(self):
        for name in ("pod-initcontainer.yaml", "pod-hook-exec.yaml", "pod-handlers.yaml", "pod-grace.yaml",
                     "pod-probe-liveness.yaml", "pod-probe-readiness.yaml", "pod-sidecar.yaml"):
            r = self.cli("validate", os.path.join(EXAMPLES, name))
            self.assertEqual(r.returncode, 0, f"{name}: {r.stderr}")
            self.assertRegex(r.stdout, r"valid \(1 pod: [a-z-]+\)")

    def check_broken(self, text, expected, name="bad.yaml"):
        path = self.write(name, text)
        for command in ("validate", "run"):
            r = self.cli(command, path, timeout=15)
            self.assertEqual(r.returncode, 2, f"{command}: {r.stdout}{r.stderr}")
            for line in expected:
                self.assertIn(line.replace("FILE", path), r.stderr.splitlines(), f"{command}: {r.stderr}")
            self.assertNotIn("terminate", r.stderr)
            self.assertEqual(r.stdout, "", command)

    def test_not_yaml(self):
        self.check_broken("apiVersion: v1\nkind: Pod\nmetadata: {name: x\nspec: [\n",
                          ["FILE:4: not valid YAML or JSON: end of map flow not found (column 5)"])

    def test_plain_text_is_not_a_manifest(self):
        self.check_broken("hello world\n",
                          ["FILE:1: the document is not a mapping: expected a Pod manifest (kind: Pod), "
                           "got \"hello world\""])

    def test_wrong_kind(self):
        self.check_broken("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
                          ["FILE:2: kind: must be Pod (or List): lifehook runs Pods, not \"Deployment\"; "
                           "a Deployment wraps its Pod in spec.template"])

    def test_missing_kind(self):
        self.check_broken("apiVersion: v1\nmetadata:\n  name: web\n",
                          ["FILE:1: kind: is required: lifehook runs Pods (kind: Pod)"])

    def test_missing_containers(self):
        self.check_broken(POD.format(name="p", spec="  restartPolicy: Never\n"),
                          ["FILE:5: spec.containers: must contain at least one container"])

    def test_empty_containers(self):
        self.check_broken(POD.format(name="p", spec="  containers: []\n"),
                          ["FILE:6: spec.containers: must contain at least one container"])

    def test_no_command_under_process_driver(self):
        self.check_broken(POD.format(name="p", spec="  containers:\n  - name: web\n    image: nginx\n"),
                          ["FILE:7: spec.containers[0].command: is required: the process driver runs commands, "
                           "not images (image \"nginx\" is ignored) (got nothing)"])

    def test_port_name_that_does_not_exist(self):
        spec = """  containers:
  - name: web
    command: [sleep, "60"]
    ports:
    - name: http
      containerPort: 8080
    lifecycle:
      preStop:
        httpGet:
          port: web
"""
        self.check_broken(POD.format(name="p", spec=spec),
                          ["FILE:15: spec.containers[0].lifecycle.preStop.httpGet.port: names no port of the "
                           "target (target.ports / container ports) (got \"web\")"])

    def test_duplicate_container_names(self):
        spec = """  initContainers:
  - name: a
    command: ["true"]
  containers:
  - name: a
    command: [sleep, "1"]
"""
        self.check_broken(POD.format(name="p", spec=spec),
                          ["FILE:10: spec.containers[0].name: duplicate container name \"a\" "
                           "(also spec.initContainers[0].name)"])

    def test_negative_grace_is_one_second_with_a_warning(self):
        # As the API server: accepted, stored as 1, with its warning.
        spec = "  terminationGracePeriodSeconds: -5\n  containers:\n  - name: a\n    command: [sleep, '1']\n"
        path = self.write("neg.yaml", POD.format(name="p", spec=spec))
        r = self.cli("validate", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{path}:6: warning: spec.terminationGracePeriodSeconds: must be >= 0; negative values are "
                      "invalid and will be treated as 1", r.stderr.splitlines())

    def test_every_problem_is_reported(self):
        spec = """  restartPolicy: Sometimes
  containers:
  - name: Web_1
    image: nginx
    env:
    - name: PORT
      value: 8080
  - command: [sleep, 1]
"""
        self.check_broken(POD.format(name="p", spec=spec), [
            "FILE:6: spec.restartPolicy: must be Always, OnFailure or Never (got \"Sometimes\")",
            "FILE:8: spec.containers[0].name: must be a lowercase RFC 1123 label (a-z, 0-9, '-', "
            "at most 63 characters) (got \"Web_1\")",
            "FILE:12: spec.containers[0].env[0].value: must be a string (got 8080)",
            "FILE:13: spec.containers[1].name: is required",
            "FILE:13: spec.containers[1].command[1]: must be a string (got 1)",
            "FILE: 5 problems",
        ])

    def test_lifecycle_on_init_container(self):
        spec = """  initContainers:
  - name: init
    command: ["true"]
    lifecycle:
      postStart:
        exec:
          command: ["true"]
  containers:
  - name: main
    command: [sleep, "1"]
"""
        self.check_broken(POD.format(name="p", spec=spec),
                          ["FILE:9: spec.initContainers[0].lifecycle: may not be set for init containers without "
                           "restartPolicy=Always (got {\"postStart\":{\"exec\":{\"command\":[\"true\"]}}})"])

    def test_duplicate_key(self):
        self.check_broken("apiVersion: v1\nkind: Pod\nkind: Pod\n", ["FILE:3: kind: is given twice (duplicate key)"])

    def test_empty_input(self):
        self.check_broken("", ["FILE: no Pod found: the input is empty"])

    def test_missing_file(self):
        r = self.cli("validate", os.path.join(self.dir, "nope.yaml"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("nope.yaml: cannot read: No such file or directory", r.stderr)

    def test_special_files_are_refused_at_once(self):
        # A FIFO without a writer used to block `validate` forever; /dev/zero was read until bad_alloc.
        fifo = os.path.join(self.dir, "pod.fifo")
        os.mkfifo(fifo)
        for path, why in ((fifo, "is a FIFO, not a regular file"),
                          ("/dev/zero", "is a character device, not a regular file"),
                          (self.dir, "is a directory, not a regular file")):
            for command in ("validate", "run"):
                r = self.cli(command, path, timeout=10)
                self.assertEqual(r.returncode, 2, f"{command} {path}: {r.stderr}")
                self.assertIn(f"{path}: {why}", r.stderr, command)
                self.assertEqual(r.stdout, "", command)

    def test_oversized_input_names_the_limit(self):
        path = self.write("big.yaml", "apiVersion: v1\nkind: Pod\n# " + "x" * (4 << 20) + "\n")
        r = self.cli("validate", path, timeout=20)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"{path}: is larger than 4194304 bytes (the limit", r.stderr)
        r = self.cli("validate", "-", stdin="# " + "x" * (4 << 20) + "\n", timeout=20)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("<stdin>: is larger than 4194304 bytes (the limit", r.stderr)

    def test_invalid_utf8_is_a_problem_with_its_line(self):
        path = os.path.join(self.dir, "latin1.yaml")
        with open(path, "wb") as f:
            f.write(POD.format(name="p", spec="  containers:\n  - name: main\n    command: [sleep, \"1\"]\n")
                    .encode() + b"    args: [\"caf\xe9\"]\n")
        for command in ("validate", "run"):
            r = subprocess.run([BIN, command, path], capture_output=True, timeout=15)
            err = r.stderr.decode(errors="replace")
            self.assertEqual(r.returncode, 2, f"{command}: {err}")
            self.assertRegex(err, re.escape(path) + r":\d+: spec\.containers\[0\]\.args\[0\]: the value is not valid UTF-8")
            self.assertNotIn("json.exception", err)

    def test_hostile_nesting_and_scalars(self):
        cases = [
            # 60 000 nested flow sequences: yaml-cpp's own recursion guard, or our 64-level limit.
            ("deep.yaml", "apiVersion: v1\nkind: Pod\nmetadata: " + "[" * 60000 + "]" * 60000 + "\n", "FILE:"),
            ("deep.json", '{"apiVersion":"v1","kind":"Pod","metadata":' + "[" * 100000 + "]" * 100000 + "}",
             "nested deeper than 64 levels (the limit)"),
            ("nested.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n" +
             "".join("  " * i + f"k{i}:\n" for i in range(1, 80)), "nested deeper than 64 levels (the limit)"),
            # A plain scalar of 60 000 digits (std::regex overflowed the stack on it).
            ("digits.yaml", POD.format(name="p", spec="  terminationGracePeriodSeconds: " + "9" * 60000 +
                                       "\n  containers:\n  - name: main\n    command: [sleep, \"1\"]\n"),
             "FILE:6: spec.terminationGracePeriodSeconds:"),
            ("laughs.yaml", "a: &a [x, x, x, x, x, x, x, x, x, x]\n" +
             "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
                     f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
                     for i in range(8)) + "kind: Pod\n", "values (the limit; YAML aliases are expanded)"),
        ]
        for name, text, expected in cases:
            path = self.write(name, text)
            r = self.cli("validate", path, timeout=30)
            self.assertEqual(r.returncode, 2, f"{name}: {r.stderr[:500]}")
            self.assertIn(expected.replace("FILE", path), r.stderr, name)
            self.assertLess(len(r.stderr.splitlines()), 5, name)

    def test_list_item_paths(self):
        text = """apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: one}
  spec:
    containers: [{name: a, command: ["true"]}]
- apiVersion: v1
  kind: Pod
  metadata: {name: one}
  spec:
    containers: [{name: a}]
"""
        self.check_broken(text, [
            "FILE:13: items[1].spec.containers[0].command: is required: the process driver runs commands, not "
            "images (got nothing)",
            "FILE:11: items[1].metadata.name: duplicate pod name \"one\" (also items[0].metadata.name)",
        ])

    def test_the_library_decides_stop_signal_term(self):
        # The CLI used to refuse what the library accepts ("TERM" is SIGTERM): one validator now.
        spec = "  containers:\n  - name: a\n    command: [sleep, '1']\n    lifecycle:\n      stopSignal: TERM\n"
        r = self.cli("validate", self.write("term.yaml", POD.format(name="p", spec=spec)))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")

    def test_unimplemented_fields_are_warnings(self):
        spec = """  nodeSelector: {disk: ssd}
  restartPolicy: Never
  containers:
  - name: web
    image: nginx
    command: ["true"]
    readinessProbe:
      exec:
        command: ["false"]
    volumeMounts: []
    stdin: true
"""
        path = self.write("warn.yaml", POD.format(name="p", spec=spec))
        r = self.cli("validate", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stderr.splitlines()
        self.assertIn(f"{path}:6: warning: spec.nodeSelector: is for a scheduler; lifehook runs the pod on this "
                      "machine; ignored", lines)
        self.assertIn(f"{path}:10: warning: spec.containers[0].image: is not used: the process driver runs the "
                      "container's command (no image is pulled)", lines)
        self.assertIn(f"{path}:16: warning: spec.containers[0].stdin: is not implemented by lifehook or the process "
                      "driver; ignored", lines)
        self.assertEqual(len(lines), 3, r.stderr)  # volumeMounts: [] asks for nothing; probes are implemented
        # run prints the same warnings before it starts, and the status JSON lists them.
        r = self.cli("run", path, "-o", "json", timeout=15)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{path}:16: warning: spec.containers[0].stdin: is not implemented by lifehook or the process "
                      "driver; ignored", r.stderr.splitlines())
        last = json.loads(r.stdout.splitlines()[-1])
        status = last.get("status", last)
        self.assertIn({"path": "spec.containers[0].stdin",
                       "message": "is not implemented by lifehook or the process driver; ignored"}, status["warnings"])
        self.assertNotIn("readinessProbe", json.dumps(status["warnings"]))

    def test_json_from_stdin_and_multi_document(self):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "from-json"},
               "spec": {"containers": [{"name": "a", "command": ["true"]}]}}
        r = self.cli("validate", "-", stdin=json.dumps(pod, indent="\t"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("<stdin>: valid (1 pod: from-json)", r.stdout)
        two = POD.format(name="a", spec="  containers: [{name: c, command: ['true']}]\n") + "---\n" + \
            POD.format(name="b", spec="  containers: [{name: c, command: ['true']}]\n") + "---\n"
        r = self.cli("validate", self.write("two.yaml", two))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("valid (2 pods: a b)", r.stdout)

    def test_bad_flags_exit_2(self):
        self.assertEqual(self.cli("run").returncode, 2)
        self.assertEqual(self.cli("run", "x.yaml", "--for", "soon").returncode, 2)
        self.assertEqual(self.cli("run", "x.yaml", "-o", "yaml").returncode, 2)
        self.assertEqual(self.cli("frobnicate").returncode, 2)

    def test_driver_options(self):
        pod = self.example("pod-hook-exec-oci.yaml")
        r = self.cli("validate", pod, "--driver", "oci", "--driver-option", "seccomp=default", "--driver-option",
                     "rootfs=host")
        self.assertEqual(r.returncode, 0, r.stderr)
        for args, expected in (
                (["--driver", "oci", "--driver-option", "rootfz=/x"], 'driver oci has no option "rootfz" (known: '),
                (["--driver", "oci", "--driver-option", "novalue"], '--driver-option must be KEY=VALUE (got "novalue")'),
                (["--driver-option", "network=host"], 'driver process has no option "network"'),
                (["--driver", "oci", "--driver-option", "network=bogus"], 'options.network: is not one of the allowed '
                                                                          'values (got "bogus")')):
            r = self.cli("validate", pod, *args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(expected, r.stderr)

    def test_help_everywhere(self):
        for cmd in ([], ["run"], ["validate"], ["handler"], ["version"]):
            r = self.cli(*cmd, "--help")
            self.assertEqual(r.returncode, 0, cmd)
            self.assertIn("lifehook", r.stdout)
            self.assertIn("Example", r.stdout, cmd)


class PodStatus(CliTestCase):
    """The status and events of real pods, as the kubelet reports them."""

    def test_finished_pod_conditions_and_init_readiness(self):
        spec = """  restartPolicy: Never
  initContainers:
  - name: init1
    command: ["true"]
  containers:
  - name: web
    command: ["true"]
    resources:
      limits: {cpu: 100m, memory: 64Mi}
"""
        r = self.cli("run", self.write("done.yaml", POD.format(name="done", spec=spec)), "-o", "json", timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        status = json.loads(r.stdout.splitlines()[-1])["status"]
        self.assertEqual(status["phase"], "Succeeded")
        self.assertTrue(status["initContainerStatuses"][0]["ready"], status)
        conditions = {c["type"]: c for c in status["conditions"]}
        self.assertEqual([c["type"] for c in status["conditions"]],
                         ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"])
        self.assertEqual((conditions["Initialized"]["status"], conditions["Initialized"]["reason"]),
                         ("True", "PodCompleted"))
        self.assertEqual(conditions["Ready"]["reason"], "PodCompleted")
        for c in status["conditions"]:
            self.assertRegex(c["lastTransitionTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(status["qosClass"], "Burstable")  # init1 limits nothing: not Guaranteed
        self.assertEqual(status["hostIP"], "127.0.0.1")
        self.assertEqual(status["podIPs"], [{"ip": "127.0.0.1"}])
        self.assertIn("startTime", status)

    def test_initializing_conditions_name_the_containers(self):
        spec = """  initContainers:
  - name: init1
    command: [sleep, "30"]
  - name: init2
    command: ["true"]
  containers:
  - name: web
    command: [sleep, "30"]
"""
        w = Watch(self.write("init.yaml", POD.format(name="init", spec=spec)), "-o", "json", "--for", "1s")
        try:
            rc, _ = w.finish()
        finally:
            w.kill()
        statuses = [json.loads(l)["status"] for _, l in w.lines if l.startswith("{")]
        self.assertTrue(statuses, w.text() + w.stderr)
        conditions = {c["type"]: c for c in statuses[0]["conditions"]}
        self.assertEqual(conditions["Initialized"]["message"], "containers with incomplete status: [init1 init2]")
        self.assertEqual(conditions["Initialized"]["reason"], "ContainersNotInitialized")
        self.assertEqual(conditions["Ready"]["message"], "containers with unready status: [web]")
        self.assertEqual(conditions["ContainersReady"]["reason"], "ContainersNotReady")

    def test_repeated_events_are_aggregated(self):
        spec = "  restartPolicy: OnFailure\n  containers:\n  - name: crash\n    command: [sh, -c, 'exit 1']\n"
        w = Watch(self.write("crash.yaml", POD.format(name="crash", spec=spec)), "--events", "--for", "2s")
        try:
            rc, _ = w.finish()
        finally:
            w.kill()
        out = w.text()
        # The first restart is immediate: Created and Started twice, then BackOff.
        self.assertRegex(out, r"  Normal\s+Started\s+\d+s \(x2 over \d+s\)\s+kubelet\s+Started container crash\n",
                         out)
        self.assertEqual(len(re.findall(r"  Normal\s+Started\s+.*kubelet", out)), 1, out)
        self.assertRegex(out, r"  Warning\s+BackOff\s+\d+s\s+kubelet\s+Back-off restarting failed container crash", out)


class Handler(CliTestCase):
    """`lifehook handler` and `lifehook version`."""

    def test_version(self):
        r = self.cli("version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"lifehook CLI\s+1\.\d+\.\d+")
        self.assertRegex(r.stdout, r"library\s+1\.\d+\.\d+")
        self.assertRegex(r.stdout, r"ABI\s+1\.\d+ \(CLI built against 1\.\d+\)")

    def test_exec_success_and_failure(self):
        r = self.cli("handler", "--exec", "sh -c 'echo \"hello there\"'", "--timeout", "5s")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"Outcome:\s+success")
        self.assertRegex(r.stdout, r"Exit code:\s+0")
        self.assertIn("hello there", r.stdout)
        r = self.cli("handler", "--exec", "sh -c 'exit 3'", "-o", "json")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        result = json.loads(r.stdout)
        self.assertEqual(result["outcome"], "failure")
        self.assertEqual(result["exitCode"], 3)

    def test_exec_timeout(self):
        r = self.cli("handler", "--exec", "sleep 30", "--timeout", "300ms", "-o", "json")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["outcome"], "timeout")

    def test_tcp_open_and_closed(self):
        with socket.socket() as srv:
            srv.bind(("127.0.0.1", 0))
            srv.listen()
            port = srv.getsockname()[1]
            r = self.cli("handler", "--tcp", f"127.0.0.1:{port}", "--timeout", "2s")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.cli("handler", "--tcp", f"127.0.0.1:{free_port()}", "--timeout", "2s")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)

    def test_http(self):
        port = free_port()
        os.makedirs(os.path.join(self.dir, "www"))
        with open(os.path.join(self.dir, "www", "index.html"), "w") as f:
            f.write("hi")
        server = subprocess.Popen(["/bin/busybox", "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h",
                                   os.path.join(self.dir, "www")])
        try:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            r = self.cli("handler", "--http", f"http://127.0.0.1:{port}/index.html", "-o", "json", "--timeout", "3s")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(json.loads(r.stdout)["httpStatus"], 200)
            r = self.cli("handler", "--http", f"http://127.0.0.1:{port}/missing", "--timeout", "3s")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertRegex(r.stdout, r"HTTP status:\s+404")
        finally:
            server.kill()
            server.wait()

    def test_grpc(self):
        server = subprocess.Popen(["/usr/bin/python3", GRPC_SERVER], stdout=subprocess.PIPE, text=True)
        try:
            port = int(server.stdout.readline() or 0)
            self.assertGreater(port, 0, "the gRPC health server (python3-grpcio) did not start")
            r = self.cli("handler", "--grpc", str(port), "--timeout", "3s")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertRegex(r.stdout, r"Outcome:\s+success")
            self.assertRegex(r.stdout, r"Message:\s+service healthy")
            r = self.cli("handler", "--grpc", f"127.0.0.1:{port}", "--service", "not-serving", "-o", "json")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            result = json.loads(r.stdout)
            self.assertEqual(result["outcome"], "failure")
            self.assertEqual(result["message"], 'service unhealthy (responded with "NOT_SERVING")')
            r = self.cli("handler", "--grpc", str(port), "--service", "slow", "--timeout", "300ms", "-o", "json")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertEqual(json.loads(r.stdout)["outcome"], "timeout")
            path = self.write("g.yaml", f"grpc:\n  port: {port}\n  service: nope\n")
            r = self.cli("handler", path, "-o", "json")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("code = NotFound desc = unknown service", json.loads(r.stdout)["message"])
        finally:
            server.kill()
            server.wait()
        r = self.cli("handler", "--grpc", str(free_port()), "--timeout", "2s", "-o", "json")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("error: failed to connect service at", json.loads(r.stdout)["message"])
        for bad, why in (("0", "port must be between 1 and 65535"), ("x:y", "must be PORT or HOST:PORT")):
            r = self.cli("handler", "--grpc", bad)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn(why, r.stderr)
        r = self.cli("handler", "--tcp", "127.0.0.1:1", "--service", "x")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--service goes with --grpc", r.stderr)

    def test_sleep_and_file(self):
        r = self.cli("handler", "--sleep", "0.2")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        path = self.write("h.yaml", "exec:\n  command: [sh, -c, 'echo from-file']\n")
        r = self.cli("handler", path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("from-file", r.stdout)

    def test_bad_handler_input(self):
        self.assertEqual(self.cli("handler").returncode, 2)
        self.assertEqual(self.cli("handler", "--exec", "true", "--sleep", "1").returncode, 2)
        r = self.cli("handler", "--http", "ftp://127.0.0.1/")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--http must look like http://127.0.0.1:8080/path", r.stderr)
        r = self.cli("handler", "--tcp", "127.0.0.1")
        self.assertEqual(r.returncode, 2)
        r = self.cli("handler", "--exec", "sh -c 'unterminated")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unterminated ' quote", r.stderr)
        path = self.write("h.yaml", "exec:\n  command: []\n")
        r = self.cli("handler", path)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("handler.exec.command", r.stderr)


class Examples(CliTestCase):
    """Each example run end to end: status sequence, events table, exit codes."""

    def test_initcontainer(self):
        w = Watch(self.example("pod-initcontainer.yaml"), "--events")
        try:
            self.assertIsNotNone(w.wait_status("Init:0/2"), w.text())
            time.sleep(1.2)  # the first init container keeps waiting while "mysql" is closed
            self.assertEqual(w.statuses(), ["Init:0/2"], w.text())
            mysql = socket.create_server(("127.0.0.1", self.ports[13306]))
            self.assertIsNotNone(w.wait_status("Init:1/2", 10), w.text())
            redis = socket.create_server(("127.0.0.1", self.ports[16379]))
            self.assertIsNotNone(w.wait_status("Running", 10), w.text())
            mysql.close()
            redis.close()
            self.assertIn("1/1", w.wait_status("Running")[1])
            status, body = http_get(self.ports[18080])
            self.assertEqual((status, body.strip()), (200, "The app is running!"))
            w.proc.send_signal(signal.SIGINT)
            rc, _ = w.finish()
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        self.assertTrue(ordered_subsequence(["Init:0/2", "Init:1/2", "Running", "Terminating"], w.statuses()),
                        w.text())
        self.assertRegex(w.lines[0][1], r"^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$")
        out = w.text()
        self.assertIn("Events:", out)
        self.assertRegex(out, r"\n  Type\s+Reason\s+Age\s+From\s+Message\n  ----\s+------\s+----\s+----\s+-------\n")
        for c in ("init-mysql", "init-redis", "myapp-container"):
            self.assertRegex(out, rf"  Normal\s+Started\s+\d+s\s+kubelet\s+Started container {c}")
        self.assertRegex(out, r"  Normal\s+Killing\s+\d+s\s+kubelet\s+Stopping container myapp-container")
        self.assertIn("  event: pod/myapp-pod Normal Started: Started container init-mysql", out)
        started = [l for _, l in w.lines if "Started: Started container" in l]
        self.assertEqual([l.split()[-1] for l in started], ["init-mysql", "init-redis", "myapp-container"])

    def test_probe_liveness(self):
        """The article's liveness scenario: the health file goes, the probe fails, the container restarts."""
        w = Watch(self.example("pod-probe-liveness.yaml"), "--events")
        try:
            restarted = w.wait_line(lambda l: re.match(r"^liveness-exec\s+1/1\s+Running\s+1 \(", l), 20)
            self.assertIsNotNone(restarted, w.text() + w.stderr)
            self.assertGreaterEqual(restarted[0], 3, "healthy while the file exists")
            w.proc.send_signal(signal.SIGINT)
            rc, _ = w.finish()
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        out = w.text()
        self.assertRegex(out, r"  Warning\s+Unhealthy\s+\d+s\s+kubelet\s+Liveness probe failed: cat: can't open "
                              r"'\S+/lifehook-probe-liveness/healthy': No such file or directory\n")
        self.assertRegex(out, r"  Normal\s+Killing\s+\d+s\s+kubelet\s+"
                              r"Container liveness failed liveness probe, will be restarted\n")

    def test_probe_readiness(self):
        """Startup (tcpSocket) then readiness (httpGet): READY 0/1 until the page exists, then 1/1."""
        w = Watch(self.example("pod-probe-readiness.yaml"), "--events")
        try:
            self.assertIsNotNone(w.wait_line(lambda l: re.match(r"^readiness-http\s+0/1\s+Running", l), 10), w.text())
            ready = w.wait_line(lambda l: re.match(r"^readiness-http\s+1/1\s+Running\s+0\s", l), 15)
            self.assertIsNotNone(ready, w.text() + w.stderr)
            w.proc.send_signal(signal.SIGINT)
            rc, _ = w.finish()
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        out = w.text()
        self.assertIn("Readiness probe failed: HTTP probe failed with statuscode: 404", out)
        self.assertRegex(out, r"  Normal\s+ProbeRecovered\s+\d+s\s+kubelet\s+"
                              r"Readiness probe succeeded after \d+ failed attempts?\n")
        self.assertNotIn("failed startup probe", out)

    def test_sidecar(self):
        """A sidecar proxy: up before the app, beside it (2/2), stopped after it; the pod Completed."""
        w = Watch(self.example("pod-sidecar.yaml"), "--events")
        try:
            rc, _ = w.finish(30)
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        self.assertTrue(ordered_subsequence(["Init:0/1", "Running", "Completed"], w.statuses()), w.text())
        self.assertRegex(w.text(), r"\nsidecar-pod\s+2/2\s+Running\s")
        self.assertRegex(w.text(), r"\nsidecar-pod\s+0/2\s+Completed\s")
        out = w.text().split("Events:")[1]
        started = [l.split()[-1] for l in out.splitlines() if "Started container" in l]
        self.assertEqual(started, ["proxy", "app"])
        self.assertRegex(out, r"  Normal\s+Killing\s+\d+s\s+kubelet\s+Stopping container proxy(\n|$)")

    def test_hook_exec(self):
        w = Watch(self.example("pod-hook-exec.yaml"), "--for", "3s", "--events")
        try:
            running = w.wait_status("Running", 10)
            self.assertIsNotNone(running, w.text() + w.stderr)
            self.assertEqual(http_get(self.ports[18081])[1].strip(), "postStart...")
            rc, elapsed = w.finish()
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        self.assertTrue(ordered_subsequence(["Running", "Terminating"], w.statuses()), w.text())
        self.assertIn("--for 3s elapsed: terminating", w.stderr)
        # preStop asked the server to quit and waited for it: the graceful path ran, well within the grace.
        with open(os.path.join(self.dir, "lifehook-hook-exec", "stopped")) as f:
            self.assertEqual(f.read().strip(), "stopped gracefully")
        self.assertLess(elapsed, 9)
        self.assertNotIn("FailedPreStopHook", w.text())
        self.assertNotIn("FailedPostStartHook", w.text())

    def test_hook_exec_oci(self):
        """The article's scenario in runc containers (--driver oci): needs root, runc, busybox-static."""
        if os.geteuid() != 0:
            self.skipTest("needs root (runc containers); CI runs as root")
        runc = shutil.which("runc")
        if runc is None or shutil.which("nsenter") is None or not os.access("/bin/busybox", os.X_OK):
            self.skipTest("needs runc, nsenter and busybox-static (/bin/busybox)")
        port = self.ports[18082]
        root = "/run/lifehook/runc"  # the oci driver's default runtime root

        def web_pid():
            c = running_oci_container(runc, root, "lh-hook-exec-oci-web-")
            return c["pid"] if c else None

        def get_in_pod(pid, path):
            # (busybox 1.35's wget -T crashes; a subprocess timeout instead)
            try:
                r = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "/bin/busybox", "wget", "-q", "-O", "-",
                                    f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=2)
            except subprocess.TimeoutExpired:
                return ""
            return r.stdout

        w = Watch(self.example("pod-hook-exec-oci.yaml"), "--driver", "oci", "--for", "2s", "--events")
        try:
            self.assertIsNotNone(w.wait_line(lambda l: " 2/2 " in l and "Running" in l, 20), w.text() + w.stderr)
            pid = web_pid()
            self.assertIsNotNone(pid, "web's runc container")
            self.assertEqual(get_in_pod(pid, "/index.html"), "postStart...\n")
            # The pod has its own network: nothing listens on the host's 127.0.0.1:port.
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            term = w.wait_status("Terminating", 10)
            self.assertIsNotNone(term, w.text())
            at_term = ""
            while not at_term and time.monotonic() - w.start < term[0] + 2.5:  # web ignores SIGTERM until the deadline
                at_term = get_in_pod(pid, "/at-term.html")
                time.sleep(0.05)
            rc, elapsed = w.finish()
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        self.assertEqual(at_term, "preStop...\n", "index.html when SIGTERM arrived: preStop ran first")
        stop = elapsed - term[0]
        self.assertGreater(stop, 2.5, w.text())  # grace 3 s: web is SIGKILLed at the deadline
        self.assertLess(stop, 8.0, w.text())
        out = w.text()
        self.assertNotIn("Failed", out)
        self.assertTrue(ordered_subsequence(["Running", "Terminating", "Error"], w.statuses()), out)
        self.assertEqual([l.split()[-1] for l in out.splitlines() if "Started: Started container" in l],
                         ["web", "client"])
        left = subprocess.run([runc, "--root", root, "list", "-q"], capture_output=True, text=True).stdout
        self.assertNotIn("lh-hook-exec-oci-", left)

    def test_handler_into_a_running_pod(self):
        """`lifehook handler` against a runc pod: --netns reaches the pod's 127.0.0.1, --pid/--bundle
        exec inside the container with what `runc exec` gives (same status lines, namespaces, cgroups)."""
        if os.geteuid() != 0:
            self.skipTest("needs root (runc containers); CI runs as root")
        runc = shutil.which("runc")
        if runc is None or not os.access("/bin/busybox", os.X_OK):
            self.skipTest("needs runc and busybox-static (/bin/busybox)")
        port = self.ports[18082]
        root = "/run/lifehook/runc"  # the oci driver's default runtime root

        probe = ("for f in Uid Gid Groups CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp; do "
                 "grep \"^$f:\" /proc/self/status; done; "
                 "for n in cgroup ipc mnt net pid user uts; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup")
        w = Watch(self.example("pod-hook-exec-oci.yaml"), "--driver", "oci", "--for", "6s")
        try:
            self.assertIsNotNone(w.wait_line(lambda l: " 2/2 " in l and "Running" in l, 20), w.text() + w.stderr)
            c = running_oci_container(runc, root, "lh-hook-exec-oci-web-")
            self.assertIsNotNone(c, "web's runc container")
            pid, bundle = str(c["pid"]), c["bundle"]
            url = f"http://127.0.0.1:{port}/index.html"
            r = self.cli("handler", "--http", url, "--netns", f"/proc/{pid}/ns/net", "-o", "json", "--timeout", "5s")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(json.loads(r.stdout)["output"], "postStart...\n")
            r = self.cli("handler", "--tcp", f"127.0.0.1:{port}", "--timeout", "2s")
            self.assertEqual(r.returncode, 1, "the host's 127.0.0.1 is not the pod's: " + r.stdout)
            # The page lives in the container's private /tmp: only an exec inside the container sees it.
            for mode in ("container", "runtime"):
                r = self.cli("handler", "--exec", "cat /tmp/www/index.html", "--pid", pid, "--bundle", bundle,
                             "--exec-mode", mode, "--runtime-root", root, "-o", "json", "--timeout", "10s")
                self.assertEqual(r.returncode, 0, mode + ": " + r.stdout + r.stderr)
                self.assertEqual(json.loads(r.stdout)["output"], "postStart...\n", mode)
            r = self.cli("handler", "--exec", f"sh -c '{probe}'", "--pid", pid, "--bundle", bundle, "-o", "json",
                         "--timeout", "10s")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            ours = json.loads(r.stdout)["output"]
            theirs = subprocess.run([runc, "--root", root, "exec", c["id"], "sh", "-c", probe], capture_output=True,
                                    text=True, timeout=20).stdout
            self.assertIn("CapBnd:", theirs)
            self.assertEqual(ours, theirs)
            rc, _ = w.finish()
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)

    def test_handlers(self):
        w = Watch(self.example("pod-handlers.yaml"), "--for", "2s", "--events", "-o", "wide")
        try:
            self.assertIsNotNone(w.wait_line(lambda l: " 2/2 " in l and "Running" in l, 10), w.text() + w.stderr)
            term = w.wait_status("Terminating", 10)
            self.assertIsNotNone(term, w.text())
            rc, elapsed = w.finish()
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        self.assertRegex(w.lines[0][1], r"^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+DRIVER$")
        self.assertIn("process", w.lines[1][1])
        # preStop sleep 2 s holds the client's stop: termination takes about 2 s, not less.
        self.assertGreater(elapsed - term[0], 1.7, w.text())
        self.assertNotIn("Failed", w.text())

    def test_grace_sigkill_at_deadline(self):
        w = Watch(self.example("pod-grace.yaml"), "--for", "1s", "--events")
        try:
            self.assertIsNotNone(w.wait_status("Running", 10), w.text() + w.stderr)
            term = w.wait_status("Terminating", 10)
            self.assertIsNotNone(term, w.text())
            rc, elapsed = w.finish()
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        # grace 3 s (preStop killed, SIGTERM ignored) + the kubelet's 2 s before SIGKILL ≈ 5 s
        stop = elapsed - term[0]
        self.assertGreater(stop, 4.0, w.text())
        self.assertLess(stop, 9.0, w.text())
        self.assertRegex(w.text(), r"Killing\s+\d+s\s+kubelet\s+Stopping container stubborn")

    def test_exit_codes_succeeded_failed(self):
        ok = self.write("ok.yaml", POD.format(name="ok", spec="  restartPolicy: Never\n  containers:\n"
                                                             "  - {name: a, command: ['true']}\n"))
        r = self.cli("run", ok)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Completed", r.stdout)
        bad = self.write("bad.yaml", POD.format(name="bad", spec="  restartPolicy: Never\n  containers:\n"
                                                                "  - {name: a, command: ['sh', '-c', 'exit 3']}\n"))
        r = self.cli("run", bad)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("Error", r.stdout)

    def test_json_output(self):
        path = self.write("ok.yaml", POD.format(name="js", spec="  restartPolicy: Never\n  containers:\n"
                                                               "  - {name: a, command: ['true']}\n"))
        r = self.cli("run", path, "-o", "json", "--events")
        self.assertEqual(r.returncode, 0, r.stderr)
        docs = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertTrue(docs)
        statuses = [d for d in docs if "status" in d]
        self.assertEqual(statuses[-1]["status"]["phase"], "Succeeded")
        self.assertTrue(all(d["name"] == "js" for d in docs))
        self.assertTrue(any(d.get("event", {}).get("reason") == "Started" for d in docs))


class Signals(CliTestCase):
    """Ctrl-C / SIGTERM handling: graceful termination with preStop, second Ctrl-C kills now."""

    def test_sigint_runs_prestop(self):
        w = Watch(self.example("pod-hook-exec.yaml"))
        try:
            self.assertIsNotNone(w.wait_status("Running", 10), w.text() + w.stderr)
            w.proc.send_signal(signal.SIGINT)
            self.assertIsNotNone(w.wait_status("Terminating", 5), w.text())
            rc, _ = w.finish()
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        self.assertIn("SIGINT received: terminating", w.stderr)
        with open(os.path.join(self.dir, "lifehook-hook-exec", "stopped")) as f:
            self.assertEqual(f.read().strip(), "stopped gracefully")

    def test_sigterm_during_init(self):
        w = Watch(self.example("pod-initcontainer.yaml"))
        try:
            self.assertIsNotNone(w.wait_status("Init:0/2", 10), w.text() + w.stderr)
            time.sleep(0.3)
            w.proc.send_signal(signal.SIGTERM)
            rc, _ = w.finish(15)
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        self.assertIn("SIGTERM received: terminating", w.stderr)

    def test_second_sigint_kills_now(self):
        w = Watch(self.example("pod-grace.yaml"))
        try:
            self.assertIsNotNone(w.wait_status("Running", 10), w.text() + w.stderr)
            w.proc.send_signal(signal.SIGINT)
            term = w.wait_status("Terminating", 5)
            self.assertIsNotNone(term, w.text())
            time.sleep(0.5)
            second = time.monotonic() - w.start
            w.proc.send_signal(signal.SIGINT)
            rc, elapsed = w.finish(15)
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        self.assertIn("second signal: killing now (grace 0)", w.stderr)
        self.assertLess(elapsed - second, 1.5, w.text())  # not the 5 s of the graceful path

    def test_grace_flag_shortens(self):
        w = Watch(self.example("pod-grace.yaml"), "--grace", "0.5", "--for", "1s")
        try:
            term = w.wait_status("Terminating", 10)
            self.assertIsNotNone(term, w.text() + w.stderr)
            rc, elapsed = w.finish(15)
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        # grace 0.5 s, then SIGKILL no sooner than 2 s after the stop signal: ≈2.5 s, far below 5 s
        self.assertLess(elapsed - term[0], 4.0, w.text())

    def test_closed_stdout_terminates_at_once(self):
        # The reader of our stdout goes away while nothing changes: the pods are terminated
        # gracefully at once (preStop runs), not at the next status line the CLI fails to write.
        r, w = os.pipe()
        proc = subprocess.Popen([BIN, "run", self.example("pod-hook-exec.yaml")], stdout=w,
                                stderr=subprocess.PIPE, text=True)
        os.close(w)
        try:
            with os.fdopen(r) as out:
                deadline = time.monotonic() + 10
                line = ""
                while "Running" not in line and time.monotonic() < deadline:
                    line = out.readline()
                    if not line:
                        break
                self.assertIn("Running", line)
            closed = time.monotonic()  # the read end is closed now
            _, err = proc.communicate(timeout=15)
            elapsed = time.monotonic() - closed
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertIn("output closed: terminating", err)
        # terminated at once: the graceful stop of this pod takes well under a second, so the
        # whole exit is far inside the time until a status change would have been noticed (never)
        self.assertLess(elapsed, 5.0, err)
        with open(os.path.join(self.dir, "lifehook-hook-exec", "stopped")) as f:
            self.assertEqual(f.read().strip(), "stopped gracefully")

    def test_sighup_applies_the_manifest(self):
        # A changed container is restarted with its new definition; the other one is left alone; a
        # change a running pod cannot take is refused by name and the pod runs on.
        out = os.path.join(self.dir, "out")
        manifest = """apiVersion: v1
kind: Pod
metadata:
  name: upd
spec:
  containers:
  - name: web
    command: ["sh", "-c", "echo VERSION > OUT; exec sleep 30"]
  - name: side
    command: ["sh", "-c", "exec sleep 30 # OUT"]
"""
        path = self.write("upd.yaml", manifest.replace("OUT", out).replace("VERSION", "v1"))
        w = Watch(path)
        try:
            self.assertIsNotNone(w.wait_line(lambda l: l.split()[:3] == ["upd", "2/2", "Running"], 10),
                                 w.text() + w.stderr)
            self.write("upd.yaml", manifest.replace("OUT", out).replace("VERSION", "v2"))
            w.proc.send_signal(signal.SIGHUP)
            restarted = w.wait_line(lambda l: l.split()[:4] == ["upd", "2/2", "Running", "1"], 10)
            self.assertIsNotNone(restarted, w.text())
            # Running means the new process was started, not that its shell has run `echo` yet:
            # wait (bounded) for the new definition's output, then check it is exactly v2.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with open(out) as f:
                    text = f.read().strip()
                if text not in ("v1", ""):  # the shell truncates OUT before it writes
                    break
                time.sleep(0.05)
            self.assertEqual(text, "v2")
            self.write("upd.yaml", manifest.replace("OUT", out).replace("VERSION", "v2") +
                       "  - name: extra\n    command: [\"sleep\", \"30\"]\n")
            w.proc.send_signal(signal.SIGHUP)
            time.sleep(0.5)
            self.assertIsNone(w.proc.poll(), "a refused update does not stop the CLI")
            w.proc.send_signal(signal.SIGINT)
            rc, _ = w.finish(15)
        finally:
            w.kill()
        self.assertEqual(rc, 0, w.stderr)
        self.assertIn("SIGHUP received: applying", w.stderr)
        self.assertIn("pod upd: updated", w.stderr)
        self.assertIn("spec.containers: containers may not be added or removed on a running pod", w.stderr)
        self.assertNotIn("2", [l.split()[3] for _, l in w.lines if l.startswith("upd ")], "side was left alone")

    def test_grace_must_be_a_finite_number(self):
        path = self.example("pod-grace.yaml")
        for bad in ["nan", "NaN", "inf", "-inf", "1e999", "-1", "0x10", "315360001"]:
            res = self.cli("run", path, "--grace", bad, timeout=10)
            self.assertEqual(res.returncode, 2, (bad, res.stdout, res.stderr))
            self.assertIn("--grace", res.stderr, bad)
        res = self.cli("run", path, "--for", "1" + "0" * 400 + "s", timeout=10)
        self.assertEqual(res.returncode, 2, res.stderr)


def commands_with(marker):
    """{pid: argv} of the processes whose command line contains `marker`."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found[int(pid)] = cmdline.split(b"\0")
    return found


def processes_with(marker):
    """Pids whose command line contains `marker`."""
    return list(commands_with(marker))


def sleeps_with(marker):
    """Pids of `sleep <marker>` processes (argv[0] is sleep: their exec is done)."""
    return [pid for pid, argv in commands_with(marker).items() if argv[0] == b"sleep"]


class Orphans(CliTestCase):
    """A CLI killed by a signal it cannot handle leaves no container process behind."""

    def test_sigkill_and_sigquit_take_the_containers_along(self):
        if os.geteuid() != 0:
            self.skipTest("the cgroup guard needs cgroups (root)")
        # A shell's background job inherits SIGQUIT ignored (POSIX), and so would the CLI: give it the
        # default disposition, the case this test is about.
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)
        for sig in (signal.SIGKILL, signal.SIGQUIT):
            marker = f"777.{os.getpid()}{int(sig)}"
            spec = ("  containers:\n  - name: main\n    command: [sh, -c, "
                    f"\"setsid sleep {marker} & sleep {marker} & wait\"]\n")
            path = self.write(f"orphans-{int(sig)}.yaml", POD.format(name=f"orphans-{int(sig)}", spec=spec))
            w = Watch(path)
            try:
                self.assertIsNotNone(w.wait_status("Running", 10), w.text() + w.stderr)
                # Wait for both sleeps to have exec'd: a process in the middle of an execve shows an empty
                # command line for a moment (its new mm has no arguments yet), so counting the forked
                # shells before that point can see three and then two.
                deadline = time.monotonic() + 10
                while len(sleeps_with(marker)) < 2 and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertEqual(len(sleeps_with(marker)), 2, "the container's two sleeps")
                self.assertEqual(len(processes_with(marker)), 3, "the container's shell and its two sleeps")
                w.proc.send_signal(sig)
                w.finish(10)
                deadline = time.monotonic() + 10
                while processes_with(marker) and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertEqual(processes_with(marker), [], f"left running after {sig.name}")
                # The cgroup guard (forked from the CLI, so its command line is the CLI's) exits once it
                # has cleaned up after the dead CLI; it must not outlive that.
                deadline = time.monotonic() + 10
                while processes_mentioning(path) and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertEqual(processes_mentioning(path), [], f"the guard outlived its cleanup after {sig.name}")
            finally:
                w.kill()
                for pid in processes_with(marker):
                    os.kill(pid, signal.SIGKILL)


class Adoption(CliTestCase):
    """A node agent restart in the middle of a pod's life (--driver oci --state-dir): kill -9 the CLI,
    start it again on the same state directory. Needs root, runc and busybox-static."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root (runc containers); CI runs as root")
        self.runc = shutil.which("runc")
        if self.runc is None or not os.access("/bin/busybox", os.X_OK):
            self.skipTest("needs runc and busybox-static (/bin/busybox)")
        self.root = os.path.join(self.dir, "runc")
        self.state = os.path.join(self.dir, "state")
        # A writable rootfs of our own: what the containers write to /data is seen here.
        self.rootfs = os.path.join(self.dir, "rootfs")
        for d in ("bin", "data", "tmp", "proc", "dev", "sys", "etc"):
            os.makedirs(os.path.join(self.rootfs, d))
        shutil.copy("/bin/busybox", os.path.join(self.rootfs, "bin", "busybox"))
        for applet in ("sh", "sleep", "cat"):
            os.symlink("busybox", os.path.join(self.rootfs, "bin", applet))

    def tearDown(self):
        for cid in self.runc_ids():  # a failed test's containers
            subprocess.run([self.runc, "--root", self.root, "delete", "-f", cid], capture_output=True)
        super().tearDown()

    def runc_ids(self):
        r = subprocess.run([self.runc, "--root", self.root, "list", "-q"], capture_output=True, text=True)
        return r.stdout.split()

    def runc_container(self, prefix):
        r = subprocess.run([self.runc, "--root", self.root, "list", "-f", "json"], capture_output=True, text=True)
        for c in json.loads(r.stdout or "null") or []:
            if c["id"].startswith(prefix):
                return c
        return None

    def run_pod(self, manifest):
        return Watch(manifest, "--driver", "oci", "--driver-option", f"root={self.root}", "--driver-option",
                     f"stateDir={self.dir}/pods", "--driver-option", f"rootfs={self.rootfs}", "--state-dir",
                     self.state, "-o", "json", "--events")

    @staticmethod
    def wait_status(w, predicate, timeout=15.0):
        """The first pod status (-o json) satisfying predicate, or None."""
        def match(line):
            try:
                doc = json.loads(line)
            except ValueError:
                return False
            return "status" in doc and predicate(doc["status"])
        found = w.wait_line(match, timeout)
        return json.loads(found[1])["status"] if found else None

    @staticmethod
    def container(status, name, init=False):
        for c in status.get("initContainerStatuses" if init else "containerStatuses", []):
            if c["name"] == name:
                return c
        return None

    def data(self, name):
        try:
            with open(os.path.join(self.rootfs, "data", name)) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def test_kill_9_and_resume(self):
        manifest = self.write("adopt.yaml", POD.format(name="adopt", spec="""  terminationGracePeriodSeconds: 5
  initContainers:
  - name: init
    command: ["/bin/sh", "-c", "echo ran >> /data/init.log"]
  containers:
  - name: main
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    lifecycle:
      preStop:
        exec:
          command: ["/bin/sh", "-c", "echo stopping >> /data/prestop.log"]
"""))
        running = lambda s: s.get("phase") == "Running" and (self.container(s, "main") or {}).get("ready")
        w1 = self.run_pod(manifest)
        try:
            self.assertIsNotNone(self.wait_status(w1, running), w1.text() + w1.stderr)
            before = self.runc_container("lh-adopt-main-")
            self.assertIsNotNone(before, "main's runc container")
            w1.proc.kill()  # the node agent dies: no terminate, no cleanup
            w1.finish()
        finally:
            w1.kill()
        after = self.runc_container("lh-adopt-main-")
        self.assertEqual((after or {}).get("status"), "running", "the container outlived its host")
        self.assertEqual(after["pid"], before["pid"])
        self.assertTrue(os.path.exists(os.path.join(self.state, "adopt", "pod.json")))

        w2 = self.run_pod(manifest)
        try:
            status = self.wait_status(w2, running)
            self.assertIsNotNone(status, w2.text() + w2.stderr)
            self.assertEqual(self.data("init.log"), "ran\n", "the completed init container did not run again")
            init = self.container(status, "init", init=True)
            self.assertEqual(init["state"]["terminated"]["exitCode"], 0, status)
            self.assertEqual(init["restartCount"], 0)
            self.assertEqual(self.container(status, "main")["restartCount"], 0, status)
            self.assertEqual(self.runc_container("lh-adopt-main-")["pid"], before["pid"], "the same container")
            self.assertNotIn("Started container", w2.text(), "nothing was started again")
            w2.proc.send_signal(signal.SIGINT)  # terminate: preStop, then the stop signal
            rc, _ = w2.finish()
        finally:
            w2.kill()
        self.assertEqual(rc, 0, w2.stderr)
        self.assertIn("lifehook: pod adopt: resumed from", w2.stderr)
        self.assertEqual(self.data("prestop.log"), "stopping\n")
        self.assertEqual(self.data("init.log"), "ran\n")
        self.assertEqual(self.runc_ids(), [], "runc list is empty")
        self.assertFalse(os.path.exists(os.path.join(self.state, "adopt")), "the state went with the pod")

    def test_exit_while_no_host_is_reported_with_its_code(self):
        manifest = self.write("gone.yaml", POD.format(name="gone", spec="""  restartPolicy: Never
  containers:
  - name: main
    command: ["/bin/sh", "-c", "sleep 1; exit 3"]
"""))
        w1 = self.run_pod(manifest)
        try:
            self.assertIsNotNone(self.wait_status(w1, lambda s: s.get("phase") == "Running"), w1.text() + w1.stderr)
            w1.proc.kill()
            w1.finish()
        finally:
            w1.kill()
        deadline = time.monotonic() + 10
        while (self.runc_container("lh-gone-main-") or {}).get("status") == "running":
            self.assertLess(time.monotonic(), deadline, "the container did not end")
            time.sleep(0.05)
        w2 = self.run_pod(manifest)
        try:
            status = self.wait_status(w2, lambda s: s.get("phase") == "Failed")
            self.assertIsNotNone(status, w2.text() + w2.stderr)
            rc, _ = w2.finish()
        finally:
            w2.kill()
        terminated = self.container(status, "main")["state"]["terminated"]
        self.assertEqual(terminated["exitCode"], 3, status)
        self.assertEqual(terminated["reason"], "Error")
        self.assertEqual(rc, 1, w2.stderr)
        self.assertEqual(self.runc_ids(), [])
        self.assertFalse(os.path.exists(os.path.join(self.state, "gone")))

    def test_active_deadline_counts_from_the_first_start(self):
        manifest = self.write("late.yaml", POD.format(name="late", spec="""  activeDeadlineSeconds: 3
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
"""))
        w1 = self.run_pod(manifest)
        try:
            self.assertIsNotNone(self.wait_status(w1, lambda s: s.get("phase") == "Running"), w1.text() + w1.stderr)
            w1.proc.kill()
            w1.finish()
        finally:
            w1.kill()
        time.sleep(1.5)  # the pod's deadline runs on without a host
        w2 = self.run_pod(manifest)
        try:
            status = self.wait_status(w2, lambda s: s.get("phase") == "Failed", 10)
            self.assertIsNotNone(status, w2.text() + w2.stderr)
            failed_at = time.monotonic() - w2.start
            rc, _ = w2.finish()
        finally:
            w2.kill()
        self.assertIn("DeadlineExceeded", json.dumps(status))
        self.assertLess(failed_at, 2.5, "3 s from the pod's startTime, not from the adoption")
        self.assertEqual(rc, 1, w2.stderr)
        self.assertEqual(self.runc_ids(), [])

    def test_process_driver_refuses_a_state_dir(self):
        manifest = self.write("p.yaml", POD.format(name="p", spec="""  containers:
  - name: main
    command: ["/bin/true"]
"""))
        r = self.cli("run", manifest, "--state-dir", self.state)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("the process driver's containers die with their host", r.stderr)


if __name__ == "__main__":
    unittest.main()
