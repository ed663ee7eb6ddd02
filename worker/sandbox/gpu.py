"""Which GPU a worker times on, and the device nodes its sandbox may see (worker side).

A GPU worker times on one GPU. Its assignment is the worker's ``CUDA_VISIBLE_DEVICES`` (an index
as ``nvidia-smi`` numbers GPUs, i.e. in PCI bus order, or a ``GPU-…`` UUID or unique prefix); a
machine with one GPU needs none. The driver's own table (``/proc/driver/nvidia/gpus/*/information``:
bus id, device minor, UUID) maps it to its ``/dev/nvidiaN`` node, so the sandbox is shown that node
only (with ``nvidiactl`` and ``nvidia-uvm``), and the measuring stage can check it got that GPU.
"""

from dataclasses import dataclass
from pathlib import Path

from worker.sandbox.launcher import SandboxUnavailable

DRIVER_TABLE = Path("/proc/driver/nvidia/gpus")


@dataclass(frozen=True)
class GPU:
    bus_id: str
    minor: int
    uuid: str

    def device_nodes(self) -> list[str]:
        return ["/dev/nvidiactl", "/dev/nvidia-uvm", f"/dev/nvidia{self.minor}"]


def driver_gpus(table: Path = DRIVER_TABLE) -> list[GPU]:
    """The machine's NVIDIA GPUs in PCI bus order (nvidia-smi's indices); none without the driver."""
    gpus = []
    for info in sorted(table.glob("*/information")):
        fields = dict(line.split(":", 1) for line in info.read_text().splitlines() if ":" in line)
        fields = {key.strip(): value.strip() for key, value in fields.items()}
        gpus.append(GPU(info.parent.name.lower(), int(fields["Device Minor"]), fields["GPU UUID"]))
    return sorted(gpus, key=lambda gpu: gpu.bus_id)


def assigned_gpu(visible: str | None, gpus: list[GPU]) -> GPU:
    """The GPU this worker was given; ``SandboxUnavailable`` (the platform's failure) if unclear."""
    if not gpus:
        raise SandboxUnavailable("this is a GPU job but the worker sees no NVIDIA GPU "
                                 "(no /proc/driver/nvidia/gpus): check the driver and the container's GPU access")
    if visible is None:
        if len(gpus) == 1:
            return gpus[0]
        raise SandboxUnavailable(f"the worker sees {len(gpus)} GPUs and has no CUDA_VISIBLE_DEVICES: "
                                 "give each GPU worker its own GPU")
    first = visible.split(",")[0].strip()
    if first.isdigit() and int(first) < len(gpus):
        return gpus[int(first)]
    matches = [gpu for gpu in gpus if first and gpu.uuid.lower().startswith(first.lower())]
    if len(matches) == 1:
        return matches[0]
    raise SandboxUnavailable(f"CUDA_VISIBLE_DEVICES={visible!r} names no single GPU of this machine "
                             f"({', '.join(gpu.uuid for gpu in gpus)})")
