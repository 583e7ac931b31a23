"""lifehook-runtime end to end under the real container engines of Debian 12, as root: containerd 1.6
(`ctr run --runc-binary`) and Docker 20.10 (`docker run --runtime lifehook`, annotations through the
LIFEHOOK_ANNOTATIONS environment variable). The test starts its own containerd and dockerd on private
state directories and sockets (vfs storage, no bridge, no iptables, no CRI plugin, host network for the
containers) and stops them, and every shim they started, at the end. The image is imported from a
busybox-static rootfs: nothing is pulled.

Each container waits (lifehook.io/wait-for) until a port on 127.0.0.1 opens and then sees the file its
post-start handler wrote inside it. Skipped, with the reason, when containerd or docker.io is missing
or not root. Environment: LIFEHOOK_RUNTIME_BIN, LIFEHOOK_OCI_HOOK (as test_runtime.py)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oci_support as oci  # noqa: E402

WRAPPER = os.environ.get("LIFEHOOK_RUNTIME_BIN", "/usr/bin/lifehook-runtime")
HOOK = os.environ.get("LIFEHOOK_OCI_HOOK", "/usr/libexec/lifehook/lifehook-oci-hook")


def _why_not():
    reason = oci.why_not_root_oci("runc")
    if reason:
        return reason
    for tool in ("containerd", "ctr"):
        if not shutil.which(tool):
            return tool + " not installed (Debian containerd)"
    return None


reason = _why_not()
pytestmark = pytest.mark.skipif(reason is not None, reason=str(reason))


def _wait(check, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(what)


def _stop(proc, timeout=30):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _unmount_below(d):
    """dockerd leaves its netns bind mounts (exec-root/netns) behind when it stops."""
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f]
    for p in sorted((p for p in points if p.startswith(d + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True)


def _kill_shims(address):
    """containerd's shims outlive the daemon by design: end those of this test's daemon, by pid."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and address.encode() in argv:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    base = tmp_path_factory.mktemp("engines")
    d = str(base)
    hooks = oci.hooks_dir(os.path.join(d, "hooks.d"), HOOK)
    address = os.path.join(d, "containerd.sock")
    with open(os.path.join(d, "containerd.toml"), "w") as f:
        f.write('version = 2\nroot = "%s/containerd-root"\nstate = "%s/containerd-state"\n'
                'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "%s"\n'
                '[ttrpc]\n  address = "%s.ttrpc"\n[debug]\n  address = "%s/debug.sock"\n[metrics]\n  address = ""\n'
                % (d, d, address, address, d))
    # The runtime the shims start inherits containerd's environment.
    env = dict(os.environ, LIFEHOOK_HOOKS_DIR=hooks, LIFEHOOK_RUNTIME="runc")
    logs = {n: open(os.path.join(d, n + ".log"), "w") for n in ("containerd", "dockerd")}
    containerd = subprocess.Popen(["containerd", "--config", os.path.join(d, "containerd.toml")], env=env,
                                  stdout=logs["containerd"], stderr=subprocess.STDOUT)
    dockerd = None
    state = {"dir": d, "address": address, "docker": None}
    try:
        _wait(lambda: subprocess.run(["ctr", "--address", address, "version"], capture_output=True).returncode == 0,
              "containerd did not start: " + open(os.path.join(d, "containerd.log")).read()[-2000:])
        if shutil.which("dockerd") and shutil.which("docker"):
            with open(os.path.join(d, "daemon.json"), "w") as f:
                json.dump({"runtimes": {"lifehook": {"path": WRAPPER}}}, f)
            host = "unix://" + os.path.join(d, "docker.sock")
            dockerd = subprocess.Popen(
                ["dockerd", "--config-file", os.path.join(d, "daemon.json"), "--containerd", address,
                 "--data-root", os.path.join(d, "docker"), "--exec-root", os.path.join(d, "docker-exec"),
                 "--pidfile", os.path.join(d, "docker.pid"), "-H", host, "--bridge", "none", "--iptables=false",
                 "--ip6tables=false", "--ip-masq=false", "--storage-driver", "vfs"],
                env=env, stdout=logs["dockerd"], stderr=subprocess.STDOUT)
            _wait(lambda: subprocess.run(["docker", "-H", host, "version"], capture_output=True).returncode == 0,
                  "dockerd did not start: " + open(os.path.join(d, "dockerd.log")).read()[-2000:])
            rootfs = os.path.join(d, "image-rootfs")
            oci.make_bundle(os.path.join(d, "image"), ["true"])
            rootfs = os.path.join(d, "image", "rootfs")
            tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
            subprocess.run(["docker", "-H", host, "import", "-", "lifehook-test/busybox:1"], stdin=tar.stdout,
                           check=True, capture_output=True)
            tar.wait()
            state["docker"] = host
        yield state
    finally:
        _stop(dockerd)
        _stop(containerd)
        _kill_shims(address)
        _unmount_below(d)
        for f in logs.values():
            f.close()


def annotations(port):
    return {
        "lifehook.io/wait-for": json.dumps([{"tcpSocket": {"host": "127.0.0.1", "port": port}}]),
        "lifehook.io/wait-for-period": "0.1",
        "lifehook.io/post-start": json.dumps({"exec": {"command": ["sh", "-c", "echo post-started > /tmp/marker"]}}),
    }


SCRIPT = "i=0; while ! test -e /tmp/marker; do sleep 0.05; i=$((i+1)); test $i -gt 400 && exit 9; done; cat /tmp/marker"


def gated(cmd, port):
    """Runs cmd; asserts it is still waiting after 1 s, then opens the port and returns its output."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert proc.poll() is None, proc.communicate()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(8)
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        listener.close()
    assert proc.returncode == 0, (proc.returncode, out, err)
    return out


def test_ctr_run_with_the_wrapper_as_runc_binary(engines, tmp_path):
    port = oci.free_port()
    oci.make_bundle(str(tmp_path / "b"), ["true"])
    cmd = ["ctr", "--address", engines["address"], "run", "--rm", "--net-host", "--env", "PATH=/bin",
           "--runc-binary", WRAPPER]
    for k, v in annotations(port).items():
        cmd += ["--annotation", "%s=%s" % (k, v)]
    # ctr's --rootfs is a switch: the rootfs directory is the first positional argument.
    out = gated(cmd + ["--rootfs", str(tmp_path / "b" / "rootfs"), "ctr-gated", "sh", "-c", SCRIPT], port)
    assert out == "post-started\n"


def test_ctr_without_annotations_passes_through(engines, tmp_path):
    oci.make_bundle(str(tmp_path / "b"), ["true"])
    p = subprocess.run(["ctr", "--address", engines["address"], "run", "--rm", "--net-host", "--env", "PATH=/bin",
                        "--runc-binary", WRAPPER, "--rootfs", str(tmp_path / "b" / "rootfs"), "ctr-plain", "sh", "-c",
                        "echo plain"], capture_output=True, text=True, timeout=90)
    assert p.returncode == 0 and p.stdout == "plain\n", p


def test_docker_run_runtime_lifehook_with_env_annotations(engines):
    if not engines["docker"]:
        pytest.skip("docker.io not installed")
    port = oci.free_port()
    cmd = ["docker", "-H", engines["docker"], "run", "--rm", "--network", "host", "--runtime", "lifehook",
           "-e", "LIFEHOOK_ANNOTATIONS=" + json.dumps(annotations(port)), "lifehook-test/busybox:1", "sh", "-c",
           SCRIPT + "; env | grep -c LIFEHOOK_ANNOTATIONS || true"]
    out = gated(cmd, port)
    assert out == "post-started\n0\n", out  # the variable was moved out of the container's environment


def test_docker_refused_start_reports_the_reason(engines):
    if not engines["docker"]:
        pytest.skip("docker.io not installed")
    p = subprocess.run(["docker", "-H", engines["docker"], "run", "--rm", "--network", "host", "--runtime", "lifehook",
                        "-e", "LIFEHOOK_ANNOTATIONS=[1,2]", "lifehook-test/busybox:1", "true"],
                       capture_output=True, text=True, timeout=90)
    assert p.returncode != 0 and "LIFEHOOK_ANNOTATIONS" in p.stderr, p
