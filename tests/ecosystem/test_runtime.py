"""lifehook-runtime with the real runc (as root): pass-through of every verb, hooks added from hooks.d only
to containers with lifehook.io/* annotations (or LIFEHOOK_ANNOTATIONS in their environment), a wait-for
gating `runc run` until a port on 127.0.0.1 opens, a post-start exec whose effect is visible inside the
container, and bad input refused with its reason on stderr and in runc's --log file.

Environment: LIFEHOOK_RUNTIME_BIN (the wrapper), LIFEHOOK_OCI_HOOK (the hook binary),
LD_LIBRARY_PATH for a build tree."""
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oci_support as oci  # noqa: E402

WRAPPER = os.environ.get("LIFEHOOK_RUNTIME_BIN", "/usr/bin/lifehook-runtime")
HOOK = os.environ.get("LIFEHOOK_OCI_HOOK", "/usr/libexec/lifehook/lifehook-oci-hook")
RUNTIME = os.environ.get("LIFEHOOK_TEST_RUNTIME", "runc")

reason = oci.why_not_root_oci(RUNTIME)
pytestmark = pytest.mark.skipif(reason is not None, reason=str(reason))


@pytest.fixture
def env(tmp_path):
    root = str(tmp_path / "root")
    hooks = oci.hooks_dir(str(tmp_path / "hooks.d"), HOOK)
    e = dict(os.environ, LIFEHOOK_HOOKS_DIR=hooks, LIFEHOOK_RUNTIME=RUNTIME)
    ids = []
    yield {"root": root, "env": e, "tmp": tmp_path, "ids": ids}
    for cid in ids:
        oci.force_delete(RUNTIME, root, cid)


def wrapper(env, *args, **kw):
    return subprocess.run([WRAPPER, *args], env=env["env"], capture_output=True, text=True, timeout=kw.pop("timeout", 60),
                          **kw)


def test_every_other_verb_passes_straight_through(env):
    direct = subprocess.run([RUNTIME, "--version"], capture_output=True, text=True)
    through = wrapper(env, "--version")
    assert through.returncode == 0 and through.stdout == direct.stdout
    through = wrapper(env, "--lifehook-runtime", RUNTIME, "--root", env["root"], "list", "--format", "json")
    assert through.returncode == 0, through.stderr
    assert json.loads(through.stdout or "null") in (None, [])
    # the runtime's own errors come back unchanged
    through = wrapper(env, "--root", env["root"], "state", "no-such-container")
    direct = subprocess.run([RUNTIME, "--root", env["root"], "state", "no-such-container"], capture_output=True, text=True)
    assert through.returncode == direct.returncode != 0


def test_container_without_annotations_is_untouched(env):
    bundle = str(env["tmp"] / "plain")
    cfg = oci.make_bundle(bundle, ["sh", "-c", "exit 0"])
    before = open(cfg, "rb").read()
    env["ids"].append("plain")
    p = wrapper(env, "--root", env["root"], "run", "--bundle", bundle, "plain")
    assert p.returncode == 0, p.stderr
    assert open(cfg, "rb").read() == before


def test_wait_for_gates_run_and_post_start_runs_inside(env):
    port = oci.free_port()
    bundle = str(env["tmp"] / "gated")
    cfg = oci.make_bundle(bundle, ["sh", "-c", "while ! test -e /tmp/post-started; do sleep 0.05; done; "
                                               "cat /tmp/post-started; sleep 30"], annotations={
        "lifehook.io/wait-for": json.dumps([{"tcpSocket": {"host": "127.0.0.1", "port": port}}]),
        "lifehook.io/wait-for-period": "0.1",
        "lifehook.io/post-start": json.dumps({"exec": {"command": ["sh", "-c", "echo hello > /tmp/post-started"]}}),
    })
    env["ids"].append("gated")
    started = time.monotonic()
    # A detached container keeps runc's stdio: pipes that close when the test stops reading would end it.
    err_file = open(str(env["tmp"] / "run-stderr"), "w+")
    proc = subprocess.Popen([WRAPPER, "--root", env["root"], "run", "-d", "--bundle", bundle, "gated"], env=env["env"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err_file, text=True)
    time.sleep(1.0)
    assert proc.poll() is None  # still waiting for the port
    st = oci.state(RUNTIME, env["root"], "gated")
    assert st is None or st["status"] in ("creating", "created"), st
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(8)
    try:
        proc.wait(timeout=60)
        err_file.seek(0)
        assert proc.returncode == 0, err_file.read()
        assert time.monotonic() - started >= 1.0
        st = oci.state(RUNTIME, env["root"], "gated")
        assert st and st["status"] == "running", st
        # the post-start effect, seen from inside the container
        p = subprocess.run([RUNTIME, "--root", env["root"], "exec", "gated", "cat", "/tmp/post-started"],
                           capture_output=True, text=True, timeout=30)
        assert p.stdout == "hello\n", p
    finally:
        listener.close()
    config = json.load(open(cfg))
    stages = {s: [h["args"] for h in config["hooks"][s]] for s in config["hooks"]}
    assert stages == {"createRuntime": [["lifehook-oci-hook", "createRuntime"]],
                      "poststart": [["lifehook-oci-hook", "poststart"]],
                      "poststop": [["lifehook-oci-hook", "poststop"]]}, stages
    assert all(h["path"] == HOOK for s in config["hooks"].values() for h in s)


def test_environment_fallback_for_docker_20_10(env):
    bundle = str(env["tmp"] / "envfb")
    marker = str(env["tmp"] / "post-stop-ran")
    annotations = {"lifehook.io/post-stop": json.dumps({"exec": {"command": ["/bin/sh", "-c", "touch " + marker]}})}
    cfg = oci.make_bundle(bundle, ["sh", "-c", "env; exit 0"], env=["LIFEHOOK_ANNOTATIONS=" + json.dumps(annotations)])
    env["ids"].append("envfb")
    p = wrapper(env, "--root", env["root"], "run", "--bundle", bundle, "envfb")
    assert p.returncode == 0, p.stderr
    assert "LIFEHOOK_ANNOTATIONS" not in p.stdout  # moved out of the container's environment
    config = json.load(open(cfg))
    assert config["annotations"]["lifehook.io/post-stop"] == annotations["lifehook.io/post-stop"]
    assert not any(e.startswith("LIFEHOOK_ANNOTATIONS=") for e in config["process"]["env"])
    assert set(config["hooks"]) == {"createRuntime", "poststart", "poststop"}
    # a second create of the same bundle adds nothing twice
    subprocess.run([RUNTIME, "--root", env["root"], "delete", "envfb"], capture_output=True)
    assert os.path.exists(marker), "post-stop did not run at delete"
    p = wrapper(env, "--root", env["root"], "run", "--bundle", bundle, "envfb")
    assert p.returncode == 0, p.stderr
    assert [len(v) for v in json.load(open(cfg))["hooks"].values()] == [1, 1, 1]


def test_bad_annotations_env_refuses_the_create_with_its_reason(env):
    bundle = str(env["tmp"] / "bad")
    oci.make_bundle(bundle, ["sh", "-c", "exit 0"], env=["LIFEHOOK_ANNOTATIONS={not json"])
    log = str(env["tmp"] / "runc-log.json")
    env["ids"].append("bad")
    p = wrapper(env, "--root", env["root"], "--log", log, "--log-format", "json", "create", "--bundle", bundle, "bad")
    assert p.returncode == 1
    assert "LIFEHOOK_ANNOTATIONS" in p.stderr and "JSON object" in p.stderr
    line = json.loads(open(log).read().splitlines()[-1])
    assert line["level"] == "error" and "LIFEHOOK_ANNOTATIONS" in line["msg"]
    assert oci.state(RUNTIME, env["root"], "bad") is None  # the real runtime was never called


def test_refuses_to_exec_itself_and_unknown_options(env):
    e = dict(env["env"], LIFEHOOK_RUNTIME=WRAPPER)
    p = subprocess.run([WRAPPER, "--version"], env=e, capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "itself" in p.stderr
    p = wrapper(env, "--lifehook-bogus=1", "--version")
    assert p.returncode == 2 and "--lifehook-bogus" in p.stderr
    p = wrapper(env, "--lifehook-runtime=/nonexistent/runc", "--version")
    assert p.returncode == 127 and "/nonexistent/runc" in p.stderr
