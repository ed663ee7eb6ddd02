"""The loopback stack's processes end with the test run that started them, however it ends."""

import os
import subprocess
import sys
import time

STARTER = """
import os, sys, time
from pathlib import Path
from bench.stack import Stack
stack = Stack(root=Path(sys.argv[1]), env=dict(os.environ))
print(stack.start("sleeper", ["sleep", "300"]).pid, flush=True)
time.sleep(300)
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_test_run_leaves_no_stack_process(tmp_path):
    """Before: each process had a session of its own and lived on with PPID 1 after `kill -9`."""
    starter = subprocess.Popen([sys.executable, "-c", STARTER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    child = int(starter.stdout.readline())
    assert alive(child)
    starter.kill()
    starter.wait()
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(child):
        os.kill(child, 9)
        raise AssertionError("the stack's process outlived the killed test run")
