#!/usr/bin/env python3
"""A systemd notify socket for tests: binds the AF_UNIX datagram socket
named on the command line (what NOTIFY_SOCKET points at), says "listening"
on stdout, then prints every datagram it gets as one JSON line with the
monotonic time it arrived, in milliseconds:
{"t": 1234.5, "msg": "READY=1\\nSTATUS=..."}. Exits on SIGTERM or EOF of
stdin."""
import json
import os
import select
import socket
import sys
import time

path = sys.argv[1]
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
        print(json.dumps({"t": time.monotonic() * 1000, "msg": data.decode("utf-8", "replace")}), flush=True)
