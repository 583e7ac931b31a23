#!/usr/bin/env python3
"""A program using the installed python3-lifehook, as a node agent would: run with `python3 -I` (no
script directory, no user site, no PYTHON* variables), so `import lifehook` can only be the package in
/usr/lib/python3/dist-packages. An httpGet against its own server on 127.0.0.1, an exec handler, one
awaited with asyncio, a pod validated then run to completion. Prints one line per check; exit 1 on failure."""
import asyncio
import http.server
import sys
import threading

import lifehook

failed = 0


def check(name, ok, detail=""):
    global failed
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": %s" % (detail,)))
    failed += 0 if ok else 1


class Healthz(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


check("installed package", lifehook.__file__.startswith("/usr/lib/python3/dist-packages/lifehook/"), lifehook.__file__)
print("lifehook %s (ABI %d.%d) from %s" % ((lifehook.version(),) + lifehook.abi_version() + (lifehook.__file__,)))
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthz)
threading.Thread(target=server.serve_forever, daemon=True).start()
with lifehook.Context({"threads": 2}) as ctx:
    r = ctx.run({"handler": {"httpGet": {"path": "/healthz", "port": server.server_address[1]}},
                 "target": {"podIP": "127.0.0.1"}})
    check("httpGet 200", r.succeeded and r.http_status == 200, r)
    r = ctx.run({"handler": {"exec": {"command": ["/bin/sh", "-c", "echo hi; exit 3"]}}})
    check("exec exit code and output", r.exit_code == 3 and r.output == "hi\n", r)
    r = asyncio.run(ctx.run_async({"handler": {"exec": {"command": ["/bin/true"]}}}))
    check("asyncio run_async", r.succeeded, r)
    try:
        ctx.run({"handler": {"exec": {"command": []}}})
        check("invalid request raises", False, "no exception")
    except lifehook.InvalidError as e:
        check("invalid request raises", e.status_name == "LIFEHOOK_E_INVALID" and e.message, e)

    pod = {"metadata": {"name": "consumer"}, "spec": {"restartPolicy": "Never", "containers": [
        {"name": "main", "command": ["/bin/sh", "-c", "exit 0"]}]}}
    report = ctx.validate_pod(pod)
    check("validate_pod", report["valid"] and report["problems"] == [], report)
    with ctx.pod(pod) as p:
        p.start()
        check("pod completes", p.wait(20) and p.status()["phase"] == "Succeeded", p.status())
server.shutdown()
print("%s" % ("all passed" if not failed else "%d failed" % failed))
sys.exit(1 if failed else 0)
