"""A memory cgroup (v2) per sandboxed stage, where the worker can make one (worker side).

Rlimits bound each process's address space; a cgroup bounds the resident memory of the whole
job together (every process, and the tmpfs pages of /sandbox/in and /sandbox/out it wrote), and
its processes, and says when the kernel killed the job for memory. It is made under the worker's
own cgroup (or ``SRCHALLENGE_SANDBOX_CGROUP_PARENT``), which needs cgroup v2 with the memory
controller enabled for its children, as systemd gives a service with ``Delegate=yes`` or as a
container with its own cgroup namespace has. Where that is not so (cgroup v1, no delegation, a
worker that is not root), the job runs without one, with a note in the worker's log: the rlimits
still hold. ``nsinit`` joins the cgroup before it copies the inputs or starts the command.
"""

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("srchallenge.worker")


def cgroup2_mount(mountinfo: Path = Path("/proc/self/mountinfo")) -> Path | None:
    """Where the cgroup v2 hierarchy is mounted (``/sys/fs/cgroup``, or ``…/unified`` on hybrid hosts)."""
    for line in mountinfo.read_text().splitlines():
        fields = line.split()
        if fields[fields.index("-") + 1] == "cgroup2":
            return Path(fields[4])
    return None


def own_cgroup(cgroup_file: Path = Path("/proc/self/cgroup")) -> str:
    """This process's cgroup v2 path (the ``0::`` line)."""
    for line in cgroup_file.read_text().splitlines():
        if line.startswith("0::"):
            return line[3:]
    return "/"


@dataclass(frozen=True)
class JobCgroup:
    path: Path

    @classmethod
    def create(cls, memory_bytes: int, processes: int, parent: Path | None) -> "JobCgroup | None":
        """A fresh child cgroup of ``parent`` with these limits, or None (logged) where none can be made."""
        if parent is None:
            log.info("no cgroup v2 hierarchy: sandboxed jobs run without a memory cgroup (rlimits only)")
            return None
        try:
            if "memory" not in (parent / "cgroup.subtree_control").read_text().split():
                (parent / "cgroup.subtree_control").write_text("+memory")
            path = parent / f"srchallenge-job-{secrets.token_hex(6)}"
            path.mkdir()
        except OSError as exc:
            log.info("cannot make a memory cgroup under %s (%s): sandboxed jobs run without one (rlimits only); "
                     "delegate a cgroup v2 subtree with the memory controller to the worker to have one", parent, exc)
            return None
        job = cls(path)
        try:
            job._write("memory.max", memory_bytes)
            job._write("memory.swap.max", 0, optional=True)
            job._write("pids.max", processes, optional=True)
        except OSError:
            job.remove()
            raise
        return job

    def _write(self, name: str, value: int, optional: bool = False) -> None:
        if optional and not (self.path / name).exists():
            return
        (self.path / name).write_text(str(value))

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def memory_killed(self) -> bool:
        """The kernel killed a process of the job for the cgroup's memory limit."""
        try:
            events = dict(line.split() for line in (self.path / "memory.events").read_text().splitlines())
        except OSError:
            return False
        return int(events.get("oom_kill", 0)) > 0

    def remove(self) -> None:
        try:
            os.rmdir(self.path)
        except OSError as exc:
            log.warning("cannot remove the job cgroup %s: %s", self.path, exc)


def job_cgroup_parent(setting: str) -> Path | None:
    """``setting`` (a path inside the cgroup v2 hierarchy), else the worker's own cgroup."""
    mount = cgroup2_mount()
    if mount is None:
        return None
    return mount / (setting or own_cgroup()).lstrip("/")
