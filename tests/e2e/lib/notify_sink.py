#!/usr/bin/env python3
"""A systemd notify socket for tests: binds the AF_UNIX datagram socket
named on the command line (what NOTIFY_SOCKET points at), says "listening"
on stdout, then prints every datagram it gets as one JSON line with the
monotonic time it arrived, in milliseconds:
{"t": 1234.5, "msg": "READY=1\\nSTATUS=..."}. Given a port as well, it
asks GET /readyz on 127.0.0.1:PORT the moment a READY=1 arrives, before
anything else, and adds the answer's status ("probe": 200, or 0 when
nothing answered). Exits on EOF of stdin."""
import http.client
import json
import os
import select
import socket
import sys
import time

path = sys.argv[1]
port = int(sys.argv[2]) if len(sys.argv) > 2 else 0


def probe():
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", "/readyz")
        return c.getresponse().status
    except OSError:
        return 0


s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o600)
print("listening", flush=True)
while True:
    r, _, _ = select.select([s, sys.stdin], [], [])
    if sys.stdin in r and not sys.stdin.buffer.read1(4096):
        break
    if s in r:
        data = s.recv(65536)
        t = time.monotonic() * 1000
        msg = data.decode("utf-8", "replace")
        out = {"t": t, "msg": msg}
        if port and msg.startswith("READY=1"):
            out["probe"] = probe()
        print(json.dumps(out), flush=True)
