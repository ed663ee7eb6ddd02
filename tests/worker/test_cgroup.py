"""A memory cgroup per sandboxed stage where the worker can make one; a logged note where not.

This machine (like CI) has no cgroup v2 memory controller to delegate, so the cgroup files are
checked in a folder laid out as cgroupfs lays one out; nsinit joining it is exercised on hosts
that have one (docs/security.md)."""

import logging
from pathlib import Path

from worker.sandbox.cgroup import JobCgroup, cgroup2_mount, job_cgroup_parent, own_cgroup
from worker.sandbox.launcher import GiB, SandboxLimits, SandboxRun


def test_a_job_cgroup_gets_the_memory_limit_and_reports_a_memory_kill(tmp_path):
    parent = tmp_path / "srchallenge-jobs"
    parent.mkdir()
    (parent / "cgroup.subtree_control").write_text("")
    job = JobCgroup.create(20 * GiB, 64, parent)
    assert "+memory" in (parent / "cgroup.subtree_control").read_text()  # enabled for the job
    assert job.path.parent == parent and (job.path / "memory.max").read_text() == str(20 * GiB)
    assert job.procs == job.path / "cgroup.procs" and not job.memory_killed()
    (job.path / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n")
    assert job.memory_killed()


def test_without_a_cgroup_v2_memory_controller_jobs_run_with_a_note(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="srchallenge.worker"):
        assert JobCgroup.create(GiB, 64, None) is None
        assert JobCgroup.create(GiB, 64, tmp_path / "not-a-cgroup") is None
    assert "no cgroup v2 hierarchy" in caplog.text and "cannot make a memory cgroup" in caplog.text


def test_the_parent_is_the_setting_or_the_workers_own_cgroup(tmp_path):
    mountinfo, cgroup = tmp_path / "mountinfo", tmp_path / "cgroup"
    mountinfo.write_text("31 1 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
                         "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw\n")
    cgroup.write_text("4:memory:/x\n0::/system.slice/srchallenge-worker.service\n")
    assert cgroup2_mount(mountinfo) == Path("/sys/fs/cgroup/unified")
    assert own_cgroup(cgroup) == "/system.slice/srchallenge-worker.service"
    mount = cgroup2_mount()
    if mount is not None:
        assert job_cgroup_parent("/srchallenge-jobs") == mount / "srchallenge-jobs"
        assert job_cgroup_parent("") == mount / own_cgroup().lstrip("/")


def test_a_memory_kill_by_the_cgroup_is_reported_to_the_team():
    limits = SandboxLimits(memory_bytes=2 * GiB, disk_bytes=GiB)
    run = SandboxRun({"signal": 9, "timed_out": False, "cpu_seconds": 1.0, "memory_cgroup_killed": True}, "", None, 0)
    assert "memory limit of 3 GiB" in run.kill_reason(limits)
