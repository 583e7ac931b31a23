"""lifehook-oci-hook under runc and crun alike (as root, real containers): a start refused by wait-for
with its reason in the lifehook.io/log file and on the hook's stderr (for crun, kept by its
run.oci.hooks.stderr annotation), a start gated until a port opens, and the post-start failure policy:
the container is stopped on both (runc kills it; crun would keep it running, so the hook stops it).
crun runs through crun-private-ns on this machine's hybrid cgroups (see that script).
Environment: LIFEHOOK_OCI_HOOK; LIFEHOOK_CRUN (the crun binary, default crun)."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import oci_support as oci  # noqa: E402

HOOK = os.environ.get("LIFEHOOK_OCI_HOOK", "/usr/libexec/lifehook/lifehook-oci-hook")
CRUN = os.path.join(HERE, "crun-private-ns")


def runtime_cmd(name):
    return "runc" if name == "runc" else CRUN


def why_not(name):
    reason = oci.why_not_root_oci("runc")  # runc spec makes the bundles
    if reason:
        return reason
    if name == "crun" and not shutil.which(os.environ.get("LIFEHOOK_CRUN", "crun")):
        return "crun not installed (Debian crun)"
    return None


@pytest.fixture(params=["runc", "crun"])
def rt(request, tmp_path):
    reason = why_not(request.param)
    if reason:
        pytest.skip(reason)
    root = str(tmp_path / "root")
    ids = []
    r = {"name": request.param, "cmd": runtime_cmd(request.param), "root": root, "tmp": tmp_path, "ids": ids}
    yield r
    for cid in ids:
        subprocess.run([r["cmd"], "--root", root, "delete", "--force", cid], capture_output=True)


def with_hooks(cfg_path, extra_annotations):
    """config.json hooks as docs/oci-hook.md shows them, pointing at the built hook."""
    with open(cfg_path) as f:
        cfg = json.load(f)
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    cfg["hooks"] = {stage: [{"path": HOOK, "args": ["lifehook-oci-hook", stage], "env": env, "timeout": 60}]
                    for stage in ("createRuntime", "poststart", "poststop")}
    cfg.setdefault("annotations", {}).update(extra_annotations)
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)


def state(rt, cid):
    p = subprocess.run([rt["cmd"], "--root", rt["root"], "state", cid], capture_output=True, text=True)
    return json.loads(p.stdout) if p.returncode == 0 else None


def test_refused_start_reports_its_reason_in_the_log_and_on_stderr(rt):
    bundle = str(rt["tmp"] / "refused")
    log = str(rt["tmp"] / "lifehook.log")
    hook_stderr = str(rt["tmp"] / "hooks-stderr.log")
    cfg = oci.make_bundle(bundle, ["sh", "-c", "echo should-not-run"])
    port = oci.free_port()
    with_hooks(cfg, {"lifehook.io/wait-for": json.dumps([{"tcpSocket": {"host": "127.0.0.1", "port": port}}]),
                     "lifehook.io/wait-for-period": "0.2", "lifehook.io/wait-for-timeout": "1",
                     "lifehook.io/log": log, "run.oci.hooks.stderr": hook_stderr})
    rt["ids"].append("refused")
    p = subprocess.run([rt["cmd"], "--root", rt["root"], "run", "-b", bundle, "refused"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode != 0 and "should-not-run" not in p.stdout, p
    assert "not ready within 1 s" in open(log).read()
    if rt["name"] == "crun":
        # crun discards a hook's stderr unless run.oci.hooks.stderr names a file
        assert "lifehook.io/wait-for[0]" in open(hook_stderr).read()
    else:
        assert "lifehook.io/wait-for[0]" in p.stderr  # runc shows the hook's stderr in its error
    st = state(rt, "refused")
    assert st is None or st["status"] != "running", st


def test_wait_for_gates_the_start(rt):
    bundle = str(rt["tmp"] / "gated")
    cfg = oci.make_bundle(bundle, ["sh", "-c", "echo started"])
    port = oci.free_port()
    with_hooks(cfg, {"lifehook.io/wait-for": json.dumps([{"tcpSocket": {"host": "127.0.0.1", "port": port}}]),
                     "lifehook.io/wait-for-period": "0.1"})
    rt["ids"].append("gated")
    proc = subprocess.Popen([rt["cmd"], "--root", rt["root"], "run", "-b", bundle, "gated"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert proc.poll() is None, proc.communicate()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(8)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        listener.close()
    assert proc.returncode == 0 and out == "started\n", (out, err)


def test_post_start_failure_stops_the_container_on_both_runtimes(rt):
    bundle = str(rt["tmp"] / "psfail")
    log = str(rt["tmp"] / "lifehook.log")
    cfg = oci.make_bundle(bundle, ["sh", "-c", "sleep 60"])
    with_hooks(cfg, {"lifehook.io/post-start": json.dumps({"exec": {"command": ["sh", "-c", "exit 3"]}}),
                     "lifehook.io/log": log})
    rt["ids"].append("psfail")
    start = time.monotonic()
    # A detached container keeps the runtime's stdio: no pipes that close under it.
    with open(str(rt["tmp"] / "run-stderr"), "w+") as err:
        p = subprocess.run([rt["cmd"], "--root", rt["root"], "run", "-d", "-b", bundle, "psfail"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, timeout=90)
        err.seek(0)
        p.stderr = err.read()
    # runc reports the failed hook; crun 1.8 succeeds, but either way the container must not run on.
    deadline = time.monotonic() + 20
    st = state(rt, "psfail")
    while st and st["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
        st = state(rt, "psfail")
    assert st is None or st["status"] == "stopped", (st, p.stderr)
    assert time.monotonic() - start < 30
    text = open(log).read()
    assert "post-start failed: stopping the container" in text, text
