"""Preloaded by the parallel scorer's forkserver (worker/parallel.py) and imported nowhere else:
importing it makes the forkserver die with the worker process that started it."""

from worker.parent_death import die_with_parent

die_with_parent()
