"""One settings object, read from ``SRCHALLENGE_*`` environment variables.

The defaults are the embedded deployment: everything under ``./var`` (SQLite database, a
filesystem Celery broker, uploads, private HR images, public LR inputs), so one machine runs
the whole product with no service installed.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SRCHALLENGE_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None
    broker_url: str | None = None

    max_upload_bytes: int = 2 * 1024**3
    max_image_pixels: int = 50_000_000
    upload_idle_timeout_seconds: float = 30.0
    # Any other request body (JSON, and the web pages' forms) is read only past the route's token
    # check and up to this size: 413 beyond (server/body_guard.py; a competition bundle is 3 KB).
    max_json_body_bytes: int = Field(default=1024**2, ge=0)
    # Requests per minute per client: a team whose token authenticated, else the client's address
    # (server/ratelimit.py); 0 turns the limit off. Counters are shared through this store
    # (redis://...); unset: the broker's Redis if it is one, else each API process counts alone.
    rate_limit_per_minute: int = 600
    rate_limit_storage_url: str | None = None
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed;
    # from anyone else the header is ignored, so a client cannot pick its own address.
    trusted_proxies: str = ""
    # Uploads one team may stream at once (over every API process sharing the rate limiter's
    # Redis; server/services/upload_slots.py); each may be up to max_upload_bytes.
    max_concurrent_uploads_per_team: int = 2
    # Database connections per process. The API runs its blocking handlers on as many threads, so
    # a handler never waits for a connection; a wait longer than db_pool_timeout_seconds (an
    # overload, or connections held elsewhere) answers 503 with Retry-After.
    db_pool_size: int = 20
    db_pool_timeout_seconds: float = 10.0
    # PostgreSQL: a server that accepts the connection but never answers (stuck, or half gone) is
    # given up after this long, instead of a worker or an API thread waiting on it for ever;
    # keepalives and a TCP user timeout notice a vanished host (server/db.py::libpq_defaults)
    db_connect_timeout_seconds: int = 10
    # the tail of a sandboxed stage's output kept as its log (worker/sandbox/launcher.py)
    log_cap_bytes: int = 64 * 1024
    # "json" (one object per line, with the submission id; docker-compose sets it) or "text"
    log_format: Literal["json", "text"] = "text"
    # Processes that decode and score a results zip's images (worker/parallel.py); 0: one per core.
    # A worker started with --concurrency N > 1 should get cores / N.
    scoring_processes: int = 0

    # A running job renews its heartbeat every heartbeat_seconds, and each worker's reaper looks for
    # dead jobs as often; a job silent for lease_seconds is presumed dead and re-queued, at most
    # max_deliveries times in all (a worker killed mid-job: its job runs again within about
    # lease_seconds + heartbeat_seconds). A reaper that lost the database waits a lease after it
    # is back, so the heartbeats an outage stopped are renewed before any is judged.
    # heartbeat_seconds unset: a sixth of the lease (5 s).
    heartbeat_seconds: float | None = Field(default=None, gt=0)
    lease_seconds: int = 30
    max_deliveries: int = 3
    # Through a database outage a worker retries claiming a job, and keeps a finished job's outcome
    # and retries saving it, this long (worker/tasks.py); a claim still failing then goes back to
    # the queue.
    db_outage_retry_seconds: float = 3600.0
    # A run still queued after this long is queued again (its message may have died with the broker).
    requeue_after_seconds: int = 600
    # An upload folder no submission owns (its API process died mid-upload) is removed after this
    # long without a change (server/services/orphans.py).
    orphan_upload_seconds: int = 3600
    # The public JSON leaderboard is served from a render this recent, or up to twice as old while
    # one refresh runs (server/recent.py); 0 renders every request from the database.
    leaderboard_max_age_seconds: float = 1.0
    # Limits of each sandboxed stage of a code re-run (worker/sandbox/launcher.py, docs/security.md).
    # Memory is address space (RLIMIT_AS; MSRResNet on a 510×339 input takes about 8.5 GiB on CPU);
    # CPU seconds are summed over threads; disk is the tmpfs of /sandbox/out (so it is also RAM).
    sandbox_memory_bytes: int = 16 * 1024**3
    sandbox_wall_seconds: float = 600.0
    sandbox_cpu_seconds: int = 1800
    sandbox_processes: int = 256
    sandbox_open_files: int = 256
    sandbox_file_size_bytes: int = 512 * 1024**2
    sandbox_disk_bytes: int = 4 * 1024**3
    # What comes back to the host after a stage: expected files only, this many, this large, this fast.
    sandbox_output_files: int = 1000
    sandbox_output_bytes: int = 2 * 1024**3
    sandbox_output_seconds: float = 60.0
    # torch CPU threads in the sandbox: CPU jobs (one gives steady timings on a shared machine) and
    # GPU jobs (a few feed the GPU; one per core of a big host would run into the process limit).
    sandbox_cpu_job_threads: int = 1
    sandbox_gpu_job_threads: int = 4
    # Where code re-runs are timed: "cuda" (the worker's assigned GPU, CUDA_VISIBLE_DEVICES; a missing
    # GPU is a platform failure), "cpu", or "auto" (cuda when the NVIDIA driver shows a GPU).
    sandbox_device: Literal["auto", "cuda", "cpu"] = "auto"
    # The cgroup v2 under which each sandboxed stage gets a memory cgroup of its own (a path inside the
    # hierarchy, e.g. /srchallenge-jobs, with the memory controller enabled); empty: the worker's own.
    # Where none can be made the job runs without one (rlimits only), with a note in the log.
    sandbox_cgroup_parent: str = ""
    # The timing stage runs alone on its device: one measuring stage at a time per device of a host,
    # under an exclusive lock in this folder (empty: <data_dir>/locks; every worker of a host must see
    # the same folder), on these CPUs if set ("2-3" or "0,2": reserve them for timing and keep the
    # other workers off them, e.g. compose's cpuset; empty: wherever the worker runs).
    sandbox_timing_lock_dir: str = ""
    sandbox_timing_cpus: str = ""
    # Share of the assigned GPU's memory the measuring stage may allocate (torch's per-process fraction).
    sandbox_gpu_memory_fraction: float = Field(default=0.9, gt=0, le=1)
    base_url: str = "http://127.0.0.1:8000"
    # Signs browser sessions and CSRF tokens of the team pages; unset, one is generated and kept
    # in <data_dir>/secret_key, so every API process of a deployment shares it.
    secret_key: str | None = None

    @model_validator(mode="after")
    def _heartbeats_within_the_lease(self) -> "Settings":
        if self.heartbeat_seconds is not None and self.heartbeat_seconds * 2 > self.lease_seconds:
            raise ValueError(f"SRCHALLENGE_HEARTBEAT_SECONDS ({self.heartbeat_seconds:g}) must be at most half of "
                             f"SRCHALLENGE_LEASE_SECONDS ({self.lease_seconds}): a live job would be presumed dead")
        return self

    @property
    def heartbeat_interval(self) -> float:
        return self.heartbeat_seconds or self.lease_seconds / 6

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.resolve()

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_data_dir / 'srchallenge.db'}"

    @property
    def celery_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def rate_limit_storage(self) -> str:
        if self.rate_limit_storage_url:
            return self.rate_limit_storage_url
        return self.celery_broker_url if self.celery_broker_url.startswith(("redis://", "rediss://")) else "memory://"

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [entry.strip() for entry in self.trusted_proxies.split(",") if entry.strip()]

    @property
    def uses_filesystem_broker(self) -> bool:
        return self.celery_broker_url.startswith("filesystem://")

    @property
    def broker_dir(self) -> Path:
        return self.resolved_data_dir / "broker"

    @property
    def uploads_dir(self) -> Path:
        return self.resolved_data_dir / "uploads"

    @property
    def private_dir(self) -> Path:
        """Hidden HR images: never served, never visible to sandboxed code."""
        return self.resolved_data_dir / "private"

    @property
    def public_dir(self) -> Path:
        """LR inputs that participants download."""
        return self.resolved_data_dir / "public"


@lru_cache
def get_settings() -> Settings:
    return Settings()
