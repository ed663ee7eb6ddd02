"""The timing stage runs alone on its device (issue 19.7): one measuring stage per device of a host, on
the CPUs the deployment reserves for it."""

import dataclasses
import logging
import threading

import pytest

from tests.worker.conftest import TINY_MODEL, evaluate
from worker.sandbox.launcher import parse_cpu_list
from worker.timing_slot import timing_slot


def test_a_measuring_stage_waits_while_another_holds_its_device(make_submission, dataset, limits, tmp_path):
    """Two re-runs on one host were timed at once and slowed each other's clocks."""
    locks = tmp_path / "locks"
    limits = dataclasses.replace(limits, timing_lock_dir=str(locks))
    code, work = make_submission(TINY_MODEL), tmp_path / "work"
    waiting, results = threading.Event(), {}

    class Waiting(logging.Handler):
        def emit(self, record):
            if "waiting for the timing lock" in record.getMessage():
                waiting.set()

    handler = Waiting()
    logging.getLogger("worker.timing_slot").addHandler(handler)
    logging.getLogger("worker.timing_slot").setLevel(logging.INFO)
    try:
        with timing_slot(str(locks), None):  # another job's measuring stage on the CPU
            thread = threading.Thread(target=lambda: results.update(ev=evaluate(code, dataset, limits, work)))
            thread.start()
            assert waiting.wait(timeout=300), "the second re-run did not wait for the device"
            assert not (work / "stage2" / "job").exists()  # its measuring stage has not started
        thread.join(timeout=300)
    finally:
        logging.getLogger("worker.timing_slot").removeHandler(handler)
    assert results["ev"].runtime.best > 0


def test_a_gpu_has_a_lock_of_its_own(tmp_path):
    with timing_slot(str(tmp_path), None), timing_slot(str(tmp_path), "GPU-1234"):
        pass  # a CPU job and a GPU job do not wait for each other (this would block)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["timing-cpu.lock", "timing-gpu-1234.lock"]


def test_the_measuring_stage_runs_on_the_reserved_cpus(make_submission, dataset, limits, tmp_path):
    limits = dataclasses.replace(limits, timing_cpus=(0,))
    evaluation = evaluate(make_submission(TINY_MODEL), dataset, limits, tmp_path / "work")
    assert evaluation.environment["cpus"] == [0]


def test_cpu_lists_are_read_as_the_kernel_writes_them():
    assert parse_cpu_list("0,2-3") == (0, 2, 3)
    assert parse_cpu_list("") == ()
    with pytest.raises(ValueError, match="not a CPU list"):
        parse_cpu_list("3-1")
