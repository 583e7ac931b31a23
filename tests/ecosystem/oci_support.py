"""Real OCI containers for the ecosystem tests: a busybox-static rootfs, bundles from `runc spec`, a
private runtime root, and a hooks.d directory pointing at the built lifehook-oci-hook."""
import json
import os
import shutil
import socket
import struct
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APPLETS = ["sh", "echo", "cat", "sleep", "true", "false", "ls", "env", "touch", "test"]


def _is_static_elf(path):
    """An ELF64 executable without a program interpreter: it runs in a rootfs without libraries."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return False
        phoff, = struct.unpack_from("<Q", head, 32)
        phentsize, phnum = struct.unpack_from("<HH", head, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            if struct.unpack("<I", f.read(4))[0] == 3:  # PT_INTERP
                return False
    return True


def static_busybox():
    for p in ("/bin/busybox", "/usr/bin/busybox"):
        if os.access(p, os.X_OK) and _is_static_elf(p):
            return p
    return None


def why_not_root_oci(runtime="runc"):
    """None when real containers can run here, else the reason."""
    if os.geteuid() != 0:
        return "needs root"
    if not shutil.which(runtime):
        return runtime + " not installed"
    if not static_busybox():
        return "no static busybox (busybox-static)"
    return None


def make_bundle(path, args, annotations=None, env=None, network_ns=False):
    """A bundle whose rootfs is busybox; host network unless network_ns."""
    rootfs = os.path.join(path, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"), exist_ok=True)
    for d in ("tmp", "proc", "dev", "sys", "etc"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    shutil.copy(static_busybox(), os.path.join(rootfs, "bin", "busybox"))
    for a in APPLETS:
        dst = os.path.join(rootfs, "bin", a)
        if not os.path.lexists(dst):
            os.symlink("busybox", dst)
    subprocess.run(["runc", "spec", "--bundle", path], check=True)
    cfg_path = os.path.join(path, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = args
    cfg["process"]["env"] = ["PATH=/bin"] + (env or [])
    cfg["root"]["readonly"] = False
    if not network_ns:
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "network"]
    if annotations:
        cfg["annotations"] = annotations
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2)
    return cfg_path


def hooks_dir(path, hook_binary):
    """The shipped hooks.d files (packaging/hooks.d) with the hook's path set to hook_binary."""
    os.makedirs(path, exist_ok=True)
    src = os.path.join(REPO, "packaging", "hooks.d")
    for name in os.listdir(src):
        with open(os.path.join(src, name)) as f:
            text = f.read()
        with open(os.path.join(path, name), "w") as f:
            f.write(text.replace("/usr/libexec/lifehook/lifehook-oci-hook", hook_binary))
    return path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def state(runtime, root, cid):
    p = subprocess.run([runtime, "--root", root, "state", cid], capture_output=True, text=True)
    return json.loads(p.stdout) if p.returncode == 0 else None


def force_delete(runtime, root, cid):
    subprocess.run([runtime, "--root", root, "delete", "--force", cid], capture_output=True)
