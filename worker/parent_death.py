"""Processes that die with the process that started them, however it died (``kill -9`` included),
instead of living on with PPID 1: Celery's pool processes, the parallel scorer's forkserver and its
processes (worker/parallel.py). The sandboxed team code has its own (worker/sandbox/launcher.py).

Linux's ``prctl(PR_SET_PDEATHSIG)``, called through ctypes: the one maintained-looking wrapper
(python-prctl) is a C extension unmaintained since 2020, for one call. Elsewhere it does nothing.
"""

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
FORKSERVER_PARENT_ENV = "SRCHALLENGE_FORKSERVER_PARENT"
"""The pid of the process starting the parallel scorer's forkserver (worker/forkserver_dies_with_parent.py)."""


def die_with_parent(parent: int | None = None) -> None:
    """SIGKILL this process when its parent ends (strictly: the parent's thread that started it).

    ``parent``: the pid the parent had, where this process starts too slowly to read it before the
    parent might be gone (a forkserver importing its preloads); else the parent now."""
    if not sys.platform.startswith("linux"):
        return
    parent = parent or os.getppid()
    ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the call: nothing would signal us now
        os._exit(1)
