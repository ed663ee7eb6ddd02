"""Run one command in the sandbox (worker side): namespaces, limits, capped log, a reason for kills.

The command runs under ``nsinit.py`` as PID 1 of new network, PID, mount, IPC and UTS namespaces
(``unshare``), sees only an allowlisted filesystem, runs behind a seccomp filter
(``syscall_filter.py``) with a session keyring of its own, and as a uid of its own when the worker
is root. When the worker is not root, a user namespace stands in for the user switch: the command
runs as a capability-less root of that namespace, i.e. as the worker's own uid on the host, so a
separate uid (and the per-uid process limit it gives) is lost; everything else still applies.
See docs/security.md for the threat model.
"""

import json
import os
import pwd
import random
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from server.config import Settings
from worker.sandbox.cgroup import JobCgroup, job_cgroup_parent
from worker.sandbox.syscall_filter import compile_filter, keyctl_number

if TYPE_CHECKING:
    from worker.sandbox.gpu import GPU

SANDBOX_UIDS = range(1_800_000_000, 1_800_000_000 + (1 << 20))
"""Unassigned uids (no passwd entry needed), one drawn per run: concurrent jobs never share a uid,
so RLIMIT_NPROC (counted per uid) and "no process of this uid is left" hold per job."""
NSINIT = Path(__file__).with_name("nsinit.py")
PYTHON = os.path.join(os.path.realpath(os.path.dirname(sys.executable)), os.path.basename(sys.executable))
"""The worker's own interpreter as it was started: its folder resolved (the sandbox binds real paths),
its name not, so a virtualenv's ``bin/python`` link still finds its ``pyvenv.cfg`` and site-packages
inside the sandbox. Resolving the link too would start the base interpreter, without torch."""
GiB = 1 << 30


class SandboxUnavailable(RuntimeError):
    """The platform could not sandbox the job (no namespaces, a secret path in view): not the team's fault."""


def _setting(name: str):
    return Settings.model_fields[f"sandbox_{name}"].default


@dataclass(frozen=True)
class SandboxLimits:
    """Per-stage limits; the defaults are the ``SRCHALLENGE_SANDBOX_*`` settings' (server/config.py).

    ``memory_bytes`` is address space (RLIMIT_AS): torch takes about 0.8 GiB of it, MSRResNet on
    a 510×339 DIV2K input about 8.5 GiB on CPU. ``processes`` is RLIMIT_NPROC, counted per uid and
    including threads; ``cpu_seconds`` is RLIMIT_CPU, per process but summed over its threads,
    hence above the wall limit. ``disk_bytes`` is the size of the only writable place, a tmpfs (so
    it is also RAM). ``threads`` sets torch's CPU threads in the sandbox (None: one per core).
    ``output_*`` bound what is copied back to the host after the command: expected files only,
    this many, this large in all, this fast. ``gpu_memory_fraction``: the share of the GPU's
    memory the measuring stage may allocate. ``cgroup_parent``: where each stage's memory cgroup is
    made (cgroup.py; its limit is ``memory_bytes + disk_bytes`` plus the inputs, for all processes
    and tmpfs pages of the job together)."""

    memory_bytes: int = _setting("memory_bytes")
    wall_seconds: float = _setting("wall_seconds")
    cpu_seconds: int = _setting("cpu_seconds")
    processes: int = _setting("processes")
    open_files: int = _setting("open_files")
    file_size_bytes: int = _setting("file_size_bytes")
    disk_bytes: int = _setting("disk_bytes")
    log_bytes: int = Settings.model_fields["log_cap_bytes"].default
    threads: int | None = None
    output_files: int = _setting("output_files")
    output_bytes: int = _setting("output_bytes")
    output_seconds: float = _setting("output_seconds")
    gpu_memory_fraction: float = _setting("gpu_memory_fraction")
    cgroup_parent: str = _setting("cgroup_parent")
    timing_lock_dir: str = ""
    """Where the measuring stage takes its device's lock (``worker/timing_slot.py``); empty: no lock."""
    timing_cpus: tuple[int, ...] = ()
    """The CPUs the measuring stage runs on; empty: the worker's."""

    @classmethod
    def from_settings(cls, settings: Settings, *, gpu: bool) -> "SandboxLimits":
        """The deployment's limits; a GPU job gets its small fixed thread count."""
        return cls(
            memory_bytes=settings.sandbox_memory_bytes, wall_seconds=settings.sandbox_wall_seconds,
            cpu_seconds=settings.sandbox_cpu_seconds, processes=settings.sandbox_processes,
            open_files=settings.sandbox_open_files, file_size_bytes=settings.sandbox_file_size_bytes,
            disk_bytes=settings.sandbox_disk_bytes, log_bytes=settings.log_cap_bytes,
            threads=settings.sandbox_gpu_job_threads if gpu else settings.sandbox_cpu_job_threads,
            output_files=settings.sandbox_output_files, output_bytes=settings.sandbox_output_bytes,
            output_seconds=settings.sandbox_output_seconds,
            gpu_memory_fraction=settings.sandbox_gpu_memory_fraction,
            cgroup_parent=settings.sandbox_cgroup_parent,
            timing_lock_dir=settings.sandbox_timing_lock_dir or str(settings.resolved_data_dir / "locks"),
            timing_cpus=parse_cpu_list(settings.sandbox_timing_cpus),
        )

    def rlimits(self, address_space: bool = True) -> dict[str, object]:
        """Soft CPU limit sends SIGXCPU (reported as such); the hard one, 5 s later, SIGKILL.

        ``address_space=False`` for the GPU measurement stage: CUDA reserves tens of GiB of
        virtual addresses, and that stage runs no team Python (its tensors live on the GPU).
        """
        return {
            **({"RLIMIT_AS": self.memory_bytes} if address_space else {}),
            "RLIMIT_CPU": [self.cpu_seconds, self.cpu_seconds + 5],
            "RLIMIT_NPROC": self.processes,
            "RLIMIT_NOFILE": self.open_files,
            "RLIMIT_FSIZE": self.file_size_bytes,
            "RLIMIT_CORE": 0,
        }


@dataclass(frozen=True)
class SandboxRun:
    """How a sandboxed command ended (nsinit's status, kept outside the results), its capped log
    and its results. ``status["output_error"]``: why its outputs were not all copied back."""

    status: dict
    log: str
    result_dir: Path
    uid: int

    def kill_reason(self, limits: SandboxLimits) -> str | None:
        """Why the command was killed, for the team; None when it exited on its own."""
        sig = self.status["signal"]
        if self.status["timed_out"]:
            return f"stopped after the wall-time limit of {limits.wall_seconds:g} s"
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and self.status["cpu_seconds"] >= limits.cpu_seconds):
            return f"killed for exceeding the CPU-time limit of {limits.cpu_seconds} s"
        if sig == signal.SIGXFSZ:
            return f"killed for writing a file larger than the limit of {limits.file_size_bytes >> 20} MiB"
        if self.status.get("memory_cgroup_killed"):
            return (f"killed for exceeding the memory limit of {(limits.memory_bytes + limits.disk_bytes) / GiB:g} GiB "
                    "(all its processes and files together)")
        if sig is not None:
            return (f"killed by signal {signal.Signals(sig).name} (a crash, or memory exhausted: "
                    f"the limit is {limits.memory_bytes / GiB:g} GiB of address space)")
        return None


def sandbox_identity() -> tuple[int, int, bool]:
    """(uid, gid, user_namespace): a fresh uid from ``SANDBOX_UIDS`` when root, else ns-root."""
    if os.geteuid() != 0:
        return 0, 0, True
    while True:
        uid = random.choice(SANDBOX_UIDS)
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid, uid, False


def readonly_binds() -> list[str]:
    """System directories and the Python installation, each at its own path; nothing else."""
    system = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys",
              "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives"]
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return [p for p in system if os.path.lexists(p)] + sorted(prefixes)


def check_hidden(paths: list[Path], binds: list[str]) -> None:
    """Refuse to run if a secret path would be visible through one of the binds."""
    for path in paths:
        real = os.path.realpath(path)
        for bind in binds:
            bind_real = os.path.realpath(bind)
            if real == bind_real or real.startswith(bind_real.rstrip("/") + "/"):
                raise SandboxUnavailable(f"{path} lies under {bind}, which the sandbox can see")


class _TailBuffer:
    """Keeps the last ``cap`` bytes of a stream read on a thread, so a chatty child never blocks."""

    def __init__(self, stream, cap: int) -> None:
        self.cap, self.total, self.data = cap, 0, bytearray()
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream) -> None:
        while chunk := stream.read1(1 << 16):
            self.total += len(chunk)
            self.data += chunk
            if len(self.data) > 2 * self.cap:
                del self.data[: len(self.data) - self.cap]

    def text(self) -> str:
        self.thread.join(timeout=5)
        kept = bytes(self.data[-self.cap:])
        head = f"[... {self.total - len(kept)} earlier bytes of output dropped ...]\n" if self.total > len(kept) else ""
        return head + kept.decode("utf-8", errors="replace")


def parse_cpu_list(text: str) -> tuple[int, ...]:
    """``"0,2-3"`` as the kernel and taskset write CPU lists; ``""`` is none."""
    cpus: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()) or int(last or first) < int(first):
            raise ValueError(f"not a CPU list: {text!r} (write it as 2-3 or 0,2)")
        cpus.update(range(int(first), int(last or first) + 1))
    return tuple(sorted(cpus))


def run_in_sandbox(argv: list[str], input_dir: Path, job_dir: Path, limits: SandboxLimits,
                   *, hidden: list[Path], outputs: list[str], gpu: "GPU | None" = None,
                   cpus: tuple[int, ...] = ()) -> SandboxRun:
    """Run ``argv`` (paths as seen inside: inputs under /sandbox/in, cwd /sandbox/out).

    ``input_dir`` is shown read-only; the regular files the command leaves in /sandbox/out under
    the names ``outputs`` expects (``name`` or ``folder/name`` globs) come back in
    ``job_dir/result``. ``hidden`` paths (HR images, database) must not be reachable through any
    bind, or nothing runs. A ``gpu`` job sees that GPU's device node (and the driver's control
    and memory nodes) and no other, with ``CUDA_VISIBLE_DEVICES`` naming it by UUID. ``cpus``: the
    CPUs everything in the sandbox runs on (taskset, inherited by every process it starts).
    """
    uid, gid, userns = sandbox_identity()
    binds = readonly_binds()
    check_hidden(hidden, binds)
    job_dir.mkdir(mode=0o700, parents=True)
    (job_dir / "root").mkdir(mode=0o700)
    result_dir = job_dir / "result"
    result_dir.mkdir(mode=0o700)
    devices = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]
    if gpu:
        devices += gpu.device_nodes()
    config = {
        "root": str(job_dir / "root"), "ro_binds": binds, "devices": devices,
        "input_dir": str(input_dir), "result_dir": str(result_dir), "scratch_bytes": limits.disk_bytes,
        "status_path": str(job_dir / "status.json"), "outputs": outputs,
        "output_limits": {"files": limits.output_files, "bytes": limits.output_bytes,
                          "seconds": limits.output_seconds},
        "uid": uid, "gid": gid, "user_namespace": userns, "wall_seconds": limits.wall_seconds,
        "rlimits": limits.rlimits(address_space=gpu is None),
        "argv": [PYTHON if a == "python" else a for a in argv],
        "env": {"PATH": "/usr/bin:/bin", "HOME": "/sandbox/out", "TMPDIR": "/sandbox/out/tmp",
                "USER": "sandbox", "LANG": "C.UTF-8",
                "CUDA_VISIBLE_DEVICES": gpu.uuid if gpu else "", "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
                **({"OMP_NUM_THREADS": str(limits.threads), "MKL_NUM_THREADS": str(limits.threads)}
                   if limits.threads else {})},
    }
    cgroup = None if userns else JobCgroup.create(
        limits.memory_bytes + limits.disk_bytes + _tree_bytes(input_dir), limits.processes,
        job_cgroup_parent(limits.cgroup_parent))
    config["cgroup_procs"] = str(cgroup.procs) if cgroup else None
    try:
        config["seccomp_bpf"], config["keyctl_number"] = compile_filter().hex(), keyctl_number()
    except (ImportError, OSError) as exc:  # pyseccomp or libseccomp missing: never run unfiltered
        raise SandboxUnavailable(f"cannot build the seccomp filter (pyseccomp and libseccomp2 are needed): "
                                 f"{exc}") from exc
    script_fd, config_fd = _memory_file("nsinit.py", NSINIT.read_bytes()), _memory_file("config",
                                                                                          json.dumps(config).encode())
    namespaces = ["--net", "--pid", "--fork", "--mount", "--ipc", "--uts", "--kill-child"]
    if userns:
        namespaces += ["--user", "--map-root-user"]
    # setpriv's parent-death signal: if the worker dies (kill -9 included), the kernel kills unshare,
    # --kill-child then kills nsinit, and the death of a PID namespace's init kills everything in it.
    try:
        pinned = ["taskset", "--cpu-list", ",".join(map(str, cpus))] if cpus else []
        proc = subprocess.Popen([*pinned, "setpriv", "--pdeathsig", "KILL", "unshare", *namespaces,
                                 PYTHON, "-I", "-S", f"/proc/self/fd/{script_fd}", str(config_fd)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True, env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
                                pass_fds=(script_fd, config_fd))
    except OSError as exc:
        raise SandboxUnavailable(f"cannot start setpriv/unshare{'/taskset' if cpus else ''} (util-linux): {exc}") from exc
    finally:
        os.close(script_fd)
        os.close(config_fd)
    log = _TailBuffer(proc.stdout, limits.log_bytes)
    try:
        proc.wait(timeout=limits.wall_seconds + 60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    text = log.text()
    memory_killed = bool(cgroup) and cgroup.memory_killed()
    if cgroup:
        cgroup.remove()
    status_path = job_dir / "status.json"
    if not status_path.is_file():
        raise SandboxUnavailable(f"the sandbox did not start or did not finish (unshare exit {proc.returncode}):\n"
                                 f"{text[-4000:]}")
    status = json.loads(status_path.read_text())
    status["memory_cgroup_killed"] = memory_killed
    if status["start_error"]:
        raise SandboxUnavailable(f"the sandbox could not start the command: {status['start_error']}")
    return SandboxRun(status, text, result_dir, uid)


def _tree_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _memory_file(name: str, content: bytes) -> int:
    """An anonymous in-memory file holding ``content``, read from its start by the child."""
    fd = os.memfd_create(name, 0)
    with open(fd, "wb", closefd=False) as f:
        f.write(content)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
