"""One measuring stage at a time on a device of a host: the timing stage runs alone.

Two code re-runs timed at once on one host slow each other's clocks, and the runtime ratio is only
fair where nothing else runs beside the two models it compares. Every worker of a host takes an
exclusive ``flock`` on its device's lock file (the CPU, or the GPU by UUID) for the measuring stage
only, so exports, scoring and bookkeeping still overlap; the kernel drops the lock with the process,
so a killed worker never leaves it held. Keeping other work off the timing CPUs is the deployment's
(``SRCHALLENGE_SANDBOX_TIMING_CPUS``, docs/deployment.md).
"""

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


def lock_name(gpu_uuid: str | None) -> str:
    return f"timing-{gpu_uuid.lower()}.lock" if gpu_uuid else "timing-cpu.lock"


@contextmanager
def timing_slot(lock_dir: str, gpu_uuid: str | None) -> Iterator[None]:
    """Hold the device's timing lock while the block runs. No folder: no lock."""
    if not lock_dir:
        yield
        return
    Path(lock_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(Path(lock_dir) / lock_name(gpu_uuid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for the timing lock %s: another measuring stage runs on this device",
                     lock_name(gpu_uuid))
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock
