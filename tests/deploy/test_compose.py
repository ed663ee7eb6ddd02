"""The Dockerfile and compose files, checked against the code they deploy (no Docker engine needed).

A renamed CLI option, a dropped setting or a moved folder breaks a deployment only when it is
next started; these tests make it break here instead. Commands are parsed by the real click
command tree, settings are looked up in ``Settings``, COPY sources in the repository.
"""

import fnmatch
import json
import shlex
import tomllib
from importlib import import_module
from pathlib import Path

import pytest
import typer
import yaml

from server.config import Settings
from server.queue import QUEUES

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILES = ["docker-compose.yml", "docker-compose.gpu-worker.yml"]
CONSOLE_SCRIPT = "srchallenge"


def load_compose(name: str) -> dict:
    return yaml.safe_load((REPO / name).read_text())


def app_services(compose: dict) -> dict[str, dict]:
    """Services that run our images (built from the Dockerfile), as opposed to postgres and redis."""
    return {name: svc for name, svc in compose["services"].items() if "build" in svc}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            keyword, _, rest = current.strip().partition(" ")
            logical.append((keyword.upper(), rest.strip()))
            current = ""
    return logical


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    stages, current = {}, None
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            words = rest.split()
            current = words[2].lower() if len(words) == 3 and words[1].lower() == "as" else f"#{len(stages)}"
            stages[current] = []
        elif current is not None:
            stages[current].append((keyword, rest))
    return stages


def console_script_app() -> typer.Typer:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, attribute = scripts[CONSOLE_SCRIPT].partition(":")
    entry = getattr(import_module(module), attribute)
    assert callable(entry), f"{scripts[CONSOLE_SCRIPT]} is not callable"
    # the entry point wraps the module's typer app (to turn database errors into messages)
    return entry if isinstance(entry, typer.Typer) else import_module(module).app


def parse_cli(argv: list[str]) -> None:
    """Resolve ``srchallenge ARGV`` down to its command and parse the options, without running it:
    an unknown command, option or bad value raises. Typer vendors its own click, hence duck typing."""
    assert argv[0] == CONSOLE_SCRIPT, f"{argv} does not start with the console script {CONSOLE_SCRIPT}"
    command, args = typer.main.get_command(console_script_app()), list(argv[1:])
    while hasattr(command, "list_commands"):
        name, args = args[0], args[1:]
        assert name in command.list_commands(None), f"{CONSOLE_SCRIPT} has no command {name!r} (in {argv})"
        command = command.get_command(None, name)
    command.make_context(command.name, args)


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def is_dockerignored(path: str) -> bool:
    """Docker's rule, enough for our .dockerignore: the last pattern matching the path or a parent wins."""
    parts = Path(path).parts
    ignored = False
    for pattern in (REPO / ".dockerignore").read_text().splitlines():
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatch("/".join(parts[:i]), pattern) for i in range(1, len(parts) + 1)):
            ignored = not negate
    return ignored


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_app_commands_are_real_srchallenge_commands(compose_file):
    for name, svc in app_services(load_compose(compose_file)).items():
        parse_cli(svc["command"])
        if svc["command"][1] == "worker":
            assert set(option(svc["command"], "--queues").split(",")) <= set(QUEUES), name


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_settings_variables_are_known_and_data_volume_is_shared(compose_file):
    known = {f"SRCHALLENGE_{field.upper()}" for field in Settings.model_fields}
    services = app_services(load_compose(compose_file))
    data_sources = set()
    for name, svc in services.items():
        env = svc["environment"]
        assert {k for k in env if k.startswith("SRCHALLENGE_")} <= known, name
        # a remote worker's URLs come from its host's .env: there the error hint carries the scheme
        assert "postgresql+psycopg2://" in env["SRCHALLENGE_DATABASE_URL"], name
        assert "redis://" in env["SRCHALLENGE_BROKER_URL"], name
        mounts = dict(reversed(v.split(":")[:2]) for v in svc["volumes"])
        assert env["SRCHALLENGE_DATA_DIR"] in mounts, f"{name} does not mount its data dir"
        data_sources.add(mounts[env["SRCHALLENGE_DATA_DIR"]])
    assert len(data_sources) == 1, f"api and workers must share one data volume, not {data_sources}"


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_volumes_and_dependencies_are_declared(compose_file):
    compose = load_compose(compose_file)
    declared = set(compose.get("volumes") or {})
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("/", ".", "~", "$")):
                assert source in declared, f"{name} uses undeclared volume {source}"
        assert set(svc.get("depends_on", {})) <= set(compose["services"]), name


def test_migrate_runs_once_before_api_and_workers():
    compose = load_compose("docker-compose.yml")
    migrate = compose["services"]["migrate"]
    assert migrate["command"][1:] == ["db", "upgrade"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in set(app_services(compose)) - {"migrate"}:
        svc = compose["services"][name]
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert "--no-migrate" in svc["command"] or svc["command"][1] != "serve", name


def test_api_port_and_health_checks():
    services = load_compose("docker-compose.yml")["services"]
    api = services["api"]
    port = option(api["command"], "--port")
    assert [p.rsplit(":", 1)[-1] for p in api["ports"]] == [port]
    assert f"127.0.0.1:{port}/healthz" in " ".join(api["healthcheck"]["test"])
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert services["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    assert option(services["redis"]["command"], "--appendonly") == "yes"
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_gpu_worker_owns_one_gpu_and_runs_one_job(compose_file):
    worker = load_compose(compose_file)["services"]["worker-gpu"]
    assert option(worker["command"], "--queues") == "gpu"
    assert option(worker["command"], "--concurrency") == "1"
    [device] = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert device.get("count") == 1 or len(device.get("device_ids", [])) == 1


def test_dockerfile_copies_only_what_exists_and_is_in_the_context():
    copies = [shlex.split(rest) for stage in dockerfile_stages().values() for keyword, rest in stage
              if keyword == "COPY"]
    sources = [src for args in copies if not any(a.startswith("--from") for a in args)
               for src in [a for a in args if not a.startswith("--")][:-1]]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
        assert not is_dockerignored(source), f"COPY {source}: excluded by .dockerignore"
    assert is_dockerignored("var/private/hr.npy")


@pytest.mark.parametrize("compose_file", COMPOSE_FILES)
def test_compose_targets_are_stages_whose_cmd_is_the_console_script(compose_file):
    stages = dockerfile_stages()
    for name, svc in app_services(load_compose(compose_file)).items():
        target = svc["build"]["target"]
        assert target in stages, f"{name} builds target {target}, which the Dockerfile lacks"
        [cmd] = [json.loads(rest) for keyword, rest in stages[target] if keyword == "CMD"]
        parse_cli(cmd)
        assert any(keyword == "RUN" and "[postgres]" in rest for keyword, rest in stages[target]), \
            f"{target} lacks the postgres extra that SRCHALLENGE_DATABASE_URL needs"


def test_api_image_is_not_root_and_worker_image_is():
    """The worker stays root: the sandbox needs it to build namespaces before dropping to a job uid."""
    stages = dockerfile_stages()
    users = [rest for keyword, rest in stages["api"] if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert not [rest for keyword, rest in stages["worker"] if keyword == "USER"]


def test_redis_asks_for_the_password_the_app_sends():
    """Redis had no password: anything on the compose network (or a published port) could read and
    write the queue and the rate-limit counters."""
    compose = load_compose("docker-compose.yml")
    redis = compose["services"]["redis"]
    assert option(redis["command"], "--requirepass").startswith("${REDIS_PASSWORD:?")
    assert redis["environment"]["REDISCLI_AUTH"] == "${REDIS_PASSWORD}", "the health check's redis-cli"
    for name, svc in app_services(compose).items():
        url = svc["environment"]["SRCHALLENGE_BROKER_URL"]
        assert url.startswith("redis://:${REDIS_PASSWORD") and "}@redis:6379/" in url, name
