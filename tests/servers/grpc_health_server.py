#!/usr/bin/python3
"""A real gRPC server (Debian's python3-grpcio) serving grpc.health.v1.Health/Check on 127.0.0.1.

Debian packages no grpc_health module, so the service is registered with grpcio's generic
handlers and its messages are encoded by hand here (health.proto: HealthCheckRequest{string
service = 1}, HealthCheckResponse{ServingStatus status = 1}) -- independently of the library's own
encoder, so a test against this server checks the library against another implementation.

Prints the port on the first line of stdout once it serves, then serves until killed.
Options:
  --no-health   register no service at all (every call: UNIMPLEMENTED)
  --log FILE    append one JSON line per call: service, metadata, timeRemaining (seconds)

The answer depends on the requested service name:
  "" or "serving" or any name starting with "serving"  SERVING
  "not-serving"                                         NOT_SERVING
  "service-unknown"                                     SERVICE_UNKNOWN (a status value, still OK)
  "unset"                                               an empty response (status UNKNOWN)
  "slow"                                                waits until the client goes away (10 s at most)
  "deadline"                                            grpc-status DEADLINE_EXCEEDED
  "big"                                                 a 64 KiB response message
  "garbage"                                             bytes that are no HealthCheckResponse
  anything else                                         NOT_FOUND "unknown service" (as grpc-health does)
"""
import json
import sys
import threading
import time
from concurrent import futures

import grpc

SERVING, NOT_SERVING, SERVICE_UNKNOWN = 1, 2, 3


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_varint(b, i):
    n = shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return n, i


def service_of(request):
    """HealthCheckRequest.service, by hand."""
    i, service = 0, b""
    while i < len(request):
        key, i = read_varint(request, i)
        if key & 7 == 2:
            n, i = read_varint(request, i)
            if key >> 3 == 1:
                service = request[i : i + n]
            i += n
        elif key & 7 == 0:
            _, i = read_varint(request, i)
        else:
            raise ValueError("unexpected wire type")
    return service.decode()


def response(status):
    return b"\x08" + varint(status)  # field 1, varint


def main():
    args = sys.argv[1:]
    no_health = "--no-health" in args
    log_path = args[args.index("--log") + 1] if "--log" in args else None
    log_lock = threading.Lock()

    def check(request, context):
        service = service_of(request)
        if log_path:
            entry = {
                "service": service,
                "metadata": {k: v for k, v in context.invocation_metadata()},
                "timeRemaining": context.time_remaining(),
            }
            with log_lock, open(log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")
        if service == "" or service.startswith("serving"):
            return response(SERVING)
        if service == "not-serving":
            return response(NOT_SERVING)
        if service == "service-unknown":
            return response(SERVICE_UNKNOWN)
        if service == "unset":
            return b""
        if service == "slow":
            deadline = time.monotonic() + 10
            while context.is_active() and time.monotonic() < deadline:
                time.sleep(0.01)
            return response(SERVING)
        if service == "deadline":
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "the check took too long")
        if service == "big":
            return b"\x12" + varint(65536) + b"x" * 65536  # field 2, a long string
        if service == "garbage":
            return b"\xff\xff\xff"
        context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    if not no_health:
        handler = grpc.unary_unary_rpc_method_handler(check)  # no (de)serializers: raw bytes
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
