#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal, answering prompts.

usage: pty_run.py JSON [[prompt, answer], ...] -- ARGV...
Writes everything the terminal showed (with <<SENT>> where an answer was
typed) to stdout and exits with the command's status. Used by
users.test.mjs to prove the password prompt does not echo."""
import json
import os
import pty
import sys

answers = json.loads(sys.argv[1])
argv = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b''
def read_until(token):
    global out
    while token not in out:
        try:
            b = os.read(fd, 4096)
        except OSError:
            return False
        if not b:
            return False
        out += b
    return True
for prompt, ans in answers:
    if not read_until(prompt.encode()):
        break
    out += b'<<SENT>>'
    os.write(fd, ans.encode() + b'\n')
while True:
    try:
        b = os.read(fd, 4096)
    except OSError:
        break
    if not b:
        break
    out += b
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf-8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(st))
