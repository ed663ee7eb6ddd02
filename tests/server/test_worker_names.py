"""Two `srchallenge worker` processes on one host, started without --hostname, as an organizer
starts a second one: Celery's default node name (celery@HOST) was the same for both, so their
runs and pings read as one worker's in `srchallenge status`."""

import os
import re
import signal
import subprocess
import sys

from bench.stack import REPO
from worker.parent_death import die_with_parent

READY = re.compile(r"\] (\S+@\S+) ready\.$")


def node_name(proc: subprocess.Popen) -> str:
    """The name the worker announces when it is ready (read from its log as it comes)."""
    for line in proc.stdout:
        if match := READY.search(line.strip()):
            return match[1]
    raise AssertionError(f"the worker exited ({proc.wait()}) before it was ready")


def test_workers_on_one_host_get_distinct_default_names(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SRCHALLENGE_")}
    env["SRCHALLENGE_DATA_DIR"] = str(tmp_path / "var")
    procs = [subprocess.Popen([sys.executable, "-m", "server.cli", "worker", "--queues", "scoring"], env=env,
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True, preexec_fn=die_with_parent) for _ in range(2)]
    try:
        names = [node_name(proc) for proc in procs]
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.communicate(timeout=60)
    assert names[0] != names[1]
    assert names == [f"worker-{proc.pid}@{os.uname().nodename}" for proc in procs]
