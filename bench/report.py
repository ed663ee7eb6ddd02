"""What every bench prints: the machine, then one Markdown table of figures, each a ratio to a
reference measured in the same run (or a bound, where the goal is absolute).

The load average is printed next to the machine: the benches time wall clock, and a figure taken
while other processes hold the cores says more about them than about the code.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Row:
    figure: str
    measured: str
    reference: str
    goal: str
    met: bool | None
    """None where there is nothing to compare (a figure shown for context)."""


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return fields.get("Model name", "unknown CPU").strip()


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average {load}")


def busy_fraction(seconds: float = 2.0) -> float:
    """Share of all cores' time spent busy (not idle or waiting for I/O) over ``seconds``, from /proc/stat."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]
    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_until_idle(max_busy: float = 0.1, timeout_s: float = 1800) -> None:
    """Wait until other processes leave the cores alone (the benches time wall clock)."""
    deadline = time.monotonic() + timeout_s
    while (busy := busy_fraction()) > max_busy:
        if time.monotonic() > deadline:
            progress(f"the machine is still {busy:.0%} busy; measuring anyway")
            return
        progress(f"waiting for the machine to be idle ({busy:.0%} busy)")
        time.sleep(10)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="a tiny run that only checks the bench works")
    parser.add_argument("--wait-idle", action="store_true",
                        help="first wait (up to 30 minutes) until the cores are less than 10%% busy")


def print_header(title: str, args: argparse.Namespace) -> None:
    if args.wait_idle:
        wait_until_idle()
    print(f"## {title}\n")
    print(f"machine: {machine()}, cores {busy_fraction(1.0):.0%} busy before the run")
    print(f"command: python -m {' '.join([sys.modules['__main__'].__spec__.name, *sys.argv[1:]])}")
    if args.quick:
        print("quick mode: tiny data, to check that the bench runs; the figures mean nothing")
    print()


def progress(message: str) -> None:
    """A line on stderr, so that the table on stdout stays clean."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def print_table(rows: list[Row]) -> None:
    print("| figure | measured | reference (same run) | goal | met |")
    print("|---|---|---|---|---|")
    for row in rows:
        met = {True: "yes", False: "**no**", None: "—"}[row.met]
        print(f"| {row.figure} | {row.measured} | {row.reference} | {row.goal} | {met} |")
    print()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(candidates: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Wall seconds of each candidate, ``repeats`` rounds of all of them in turn, so that a slow
    spell of the machine falls on every candidate rather than on one."""
    seconds: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            seconds[name].append(timed(fn))
    return seconds


def best(trials: list[float]) -> float:
    """The least disturbed trial: on a shared machine, noise only ever adds time."""
    return min(trials)


def spread(trials: list[float]) -> str:
    return f"{(max(trials) / min(trials) - 1):.0%}" if len(trials) > 1 else "—"


def median(trials: list[float]) -> float:
    return statistics.median(trials)
