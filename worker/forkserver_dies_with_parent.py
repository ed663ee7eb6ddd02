"""Preloaded by the parallel scorer's forkserver (worker/parallel.py), first, and imported nowhere
else: importing it makes the forkserver die with the worker process that started it (whose pid
that process left in ``FORKSERVER_PARENT_ENV``: it may be gone by the time this runs), and each
process the forkserver forks die with the forkserver from its first instruction on (before: a
scorer forked for a worker killed meanwhile lived on under PID 1, and kept the forkserver and
the resource tracker alive)."""

import os

from worker.parent_death import FORKSERVER_PARENT_ENV, die_with_parent

die_with_parent(int(os.environ.get(FORKSERVER_PARENT_ENV, "0")) or None)
os.register_at_fork(after_in_child=die_with_parent)
