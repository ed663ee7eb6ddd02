"""A real deployment on loopback for benches and end-to-end tests: redis-server, the API under uvicorn and
one `srchallenge worker` process, on a private data dir; or, with ``broker="filesystem"``, the embedded
default (no Redis: the filesystem broker in the data dir). Nothing is mocked."""

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from worker.parent_death import die_with_parent

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / "competitions" / "aim2019-constrained-sr.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def photo_like(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Smooth colour gradients plus texture: compresses and scales like a photo, unlike noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.stack([128 + 90 * np.sin(x / rng.uniform(8, 30) + c) * np.cos(y / rng.uniform(8, 30) - c)
                     for c in range(3)], axis=-1)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def wait_for_http(url: str, procs: list[subprocess.Popen], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@dataclass
class Stack:
    root: Path
    env: dict[str, str]
    url: str = ""
    token: str = ""
    phase: str = "aim2019/validation"
    hr: dict[str, np.ndarray] = field(default_factory=dict)
    redis_args: list[str] = field(default_factory=list)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return Path(self.env["SRCHALLENGE_DATA_DIR"])

    def cli(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "server.cli", *args], env=self.env, cwd=self.root,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"srchallenge {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "ab")
        # its own session (stop() signals the whole group), yet it dies with this process however
        # that ends: a test run killed mid-way leaves no server, worker or redis behind
        proc = subprocess.Popen(args, env=self.env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=die_with_parent)
        self.procs[name] = proc
        return proc

    def start_worker(self, name: str = "worker", queues: str = "scoring,gpu") -> subprocess.Popen:
        return self.start(name, [sys.executable, "-m", "server.cli", "worker", "--queues", queues,
                                 "--hostname", f"{name}@%h"])

    def stop(self, name: str, sig: int = 15) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.token}"} if (token or self.token) else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def upload(self, data: bytes, token: str | None = None, phase: str | None = None, **fields) -> httpx.Response:
        with self.client(token) as client:
            return client.post(f"/api/v1/phases/{phase or self.phase}/submissions",
                               files={"file": ("submission.zip", data, "application/zip")}, data=fields)

    def wait_scored(self, submission_id: str, timeout_s: float = 120, token: str | None = None) -> dict:
        deadline = time.monotonic() + timeout_s
        with self.client(token) as client:
            while time.monotonic() < deadline:
                body = client.get(f"/api/v1/submissions/{submission_id}").raise_for_status().json()
                if body["status"] in ("scored", "failed"):
                    return body
                time.sleep(0.2)
        raise AssertionError(f"submission {submission_id} not finished after {timeout_s} s: {body}")

    def submit_and_wait(self, data: bytes, **fields) -> dict:
        response = self.upload(data, **fields)
        assert response.status_code == 202, response.text
        return self.wait_scored(response.json()["id"])

    def results_zip(self, images: dict[str, np.ndarray] | None = None) -> bytes:
        return zip_bytes({f"{key}.png": png_bytes(img) for key, img in (images or self.hr).items()})

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)


def start_stack(root: Path, database_url: str | None = None, image_count: int = 4,
                size: tuple[int, int] = (96, 128), settings: dict[str, str] | None = None,
                broker: str = "redis") -> Stack:
    """Seed a competition with generated HR images, a team, then start redis (unless ``broker`` is
    "filesystem"), worker and API.

    ``settings`` adds SRCHALLENGE_* variables (without the prefix), e.g. {"LEASE_SECONDS": "2"}.
    """
    redis_port, api_port = free_port(), free_port()
    env = {**{k: v for k, v in os.environ.items() if k != "SRCHALLENGE_BROKER_URL"},
           "SRCHALLENGE_DATA_DIR": str(root / "var"),
           "SRCHALLENGE_MAX_UPLOAD_BYTES": str(12 * 1024 * 1024), "PYTHONUNBUFFERED": "1",
           "SRCHALLENGE_RATE_LIMIT_PER_MINUTE": "0", "SRCHALLENGE_LEADERBOARD_MAX_AGE_SECONDS": "0",
           "SRCHALLENGE_LOG_FORMAT": "json",
           **{f"SRCHALLENGE_{name}": value for name, value in (settings or {}).items()}}
    if database_url:
        env["SRCHALLENGE_DATABASE_URL"] = database_url
    if broker == "redis":
        env["SRCHALLENGE_BROKER_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    elif broker != "filesystem":
        raise ValueError(f"broker must be 'redis' or 'filesystem', not {broker!r}")
    stack = Stack(root=root, env=env)
    if broker == "redis":
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed (scripts/install.sh --test installs it)")
        stack.redis_args = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--dir", str(root)]
        stack.start("redis", stack.redis_args)
    rng = np.random.default_rng(2019)
    hr_src = root / "hr"
    hr_src.mkdir()
    for i in range(image_count):
        key = f"{801 + i:04d}"
        stack.hr[key] = photo_like(rng, *size)
        (hr_src / f"{key}.png").write_bytes(png_bytes(stack.hr[key]))
    stack.cli("db", "upgrade")
    stack.cli("competition", "create", str(BUNDLE))
    for phase in ("validation", "test"):
        stack.cli("dataset", "import", "--phase", f"aim2019/{phase}", "--hr", str(hr_src))
    stack.token = stack.cli("team", "create", "alpha").stdout.strip().splitlines()[-1]
    stack.url = f"http://127.0.0.1:{api_port}"
    api = stack.start("api", [sys.executable, "-m", "server.cli", "serve", "--port", str(api_port), "--no-migrate"])
    worker = stack.start_worker()
    wait_for_http(f"{stack.url}/healthz", [api, worker])
    return stack
