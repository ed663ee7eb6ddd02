"""Memory figures of live processes, read from /proc (Linux only, no dependency)."""

from pathlib import Path


def status_kib(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` figure in KiB: ``VmRSS`` (resident now), ``VmHWM`` (peak resident)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def pss_kib(pid: int) -> int:
    """Proportional set size: resident pages, each shared page divided among the processes sharing it."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise KeyError("Pss")


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are alive now."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            children = [int(c) for task in Path(f"/proc/{current}/task").iterdir()
                        for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        found.append(current)
        pending += children
    return found


def tree_memory_kib(pid: int) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) over a process tree; a process that exits meanwhile counts 0."""
    rss = pss = 0
    for member in process_tree(pid):
        try:
            rss += status_kib(member, "VmRSS")
            pss += pss_kib(member)
        except (FileNotFoundError, ProcessLookupError, KeyError):
            continue
    return rss, pss
