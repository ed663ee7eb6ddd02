"""Bodies are read only past the token check and only up to SRCHALLENGE_MAX_JSON_BODY_BYTES,
against the real app on loopback: each request below declares or streams more than it sends, so
an answer before the rest arrives shows the body was not waited for (FastAPI used to read a
route's whole body before its token dependency ran: 300 MiB unauthenticated, 1.9 GiB of memory)."""

import importlib
import io
import json
import pkgutil
import re
import socket
import zipfile
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import update

import server.routes
from server.body_guard import TOKEN_CHECKS, TokenFirstRoute
from server.db import get_sessionmaker
from server.models import Phase

CAP = 4096
ANSWER_WITHIN_S = 10


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setenv("SRCHALLENGE_MAX_JSON_BODY_BYTES", str(CAP))


def body_routes() -> list[APIRoute]:
    """Every route of every router the app includes (server/routes/) that takes a body."""
    routers = [importlib.import_module(f"server.routes.{module.name}").router
               for module in pkgutil.iter_modules(server.routes.__path__)]
    return [route for router in routers for route in router.routes
            if isinstance(route, APIRoute) and route.body_field is not None]


def with_token_check(route: APIRoute) -> bool:
    return any(dependency.call in TOKEN_CHECKS for dependency in route.dependant.dependencies)


def answer_before_the_body_ends(api: str, method: str, path: str, headers: dict[str, str], sent: bytes) -> int:
    """The status the server answers while the body it was promised is still owed."""
    address = urlsplit(api)
    with socket.create_connection((address.hostname, address.port), timeout=ANSWER_WITHIN_S) as sock:
        head = f"{method} {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        sock.sendall(f"{head}\r\n".encode() + sent)
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]  # a timeout here: the server waits for the body
    return int(status_line.split()[1])


def test_every_route_that_takes_a_body_reads_it_past_the_token_check():
    routes = body_routes()
    checked = {route.path for route in routes if with_token_check(route)}
    assert len(checked) == 10 and "/api/v1/phases/{competition}/{phase}/entries/{track}" in checked
    assert all(isinstance(route, TokenFirstRoute) for route in routes)


def test_a_body_without_a_valid_token_is_refused_before_it_is_read(small_cap, cli, api):
    promised = {"Content-Type": "application/json", "Content-Length": str(10 * CAP)}
    for route in filter(with_token_check, body_routes()):
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        method = sorted(route.methods)[0]
        assert answer_before_the_body_ends(api, method, path, promised, b'{"all": true') == 401, path
    made_up = {**promised, "Authorization": "Bearer sro_" + "0" * 43}
    assert answer_before_the_body_ends(api, "POST", "/api/v1/admin/rescore", made_up, b"{") == 401


def test_a_body_over_the_limit_is_a_413_as_declared_or_as_it_streams(small_cap, cli, api):
    organizer = {"Authorization": f"Bearer {json.loads(cli('organizer', 'create', 'ops', '--json').stdout)['token']}",
                 "Content-Type": "application/json"}
    declared = {**organizer, "Content-Length": str(CAP + 1)}
    assert answer_before_the_body_ends(api, "POST", "/api/v1/admin/rescore", declared, b"") == 413
    chunked = {**organizer, "Transfer-Encoding": "chunked"}
    chunk = b'{"team": "' + b"x" * CAP
    assert answer_before_the_body_ends(api, "POST", "/api/v1/admin/rescore", chunked,
                                       f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") == 413
    answer = httpx.post(f"{api}/api/v1/admin/rescore", headers=organizer, json={"phase": "aim2019/validation",
                                                                              "all": True})
    assert "phase aim2019/validation has no uploaded submissions" in answer.json()["detail"]  # the body got there


def test_the_upload_route_keeps_its_own_limits(small_cap, cli, api):
    """A zip far over the JSON limit streams in as before."""
    with get_sessionmaker()() as db:
        db.execute(update(Phase).values(image_count=4))
        db.commit()
    team = cli("team", "create", "uploader").stdout.strip().splitlines()[-1]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("0801.png", bytes(range(256)) * (4 * CAP // 256))
    answer = httpx.post(f"{api}/api/v1/phases/aim2019/validation/submissions",
                        headers={"Authorization": f"Bearer {team}"},
                        files={"file": ("results.zip", buffer.getvalue(), "application/zip")})
    assert answer.status_code == 202, answer.text
