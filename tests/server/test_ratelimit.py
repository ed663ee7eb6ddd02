"""The rate limiter on a real ASGI app, driven by httpx in process; counters in memory or in a real
redis-server shared by two app instances (two API processes)."""

import asyncio
import secrets

import httpx
import pytest
from fastapi import FastAPI

from server.ratelimit import KnownTokens, RateLimitMiddleware
from bench.stack import free_port


def app_with_limit(per_minute: int, known: KnownTokens | None = None, storage_url: str = "memory://",
                   trusted_proxies: tuple[str, ...] = ()) -> FastAPI:
    app = FastAPI()

    @app.get("/api/ping")
    def ping():
        return {"ok": True}

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    app.add_middleware(RateLimitMiddleware, per_minute=per_minute, known_tokens=known or KnownTokens(),
                       storage_url=storage_url, trusted_proxies=trusted_proxies)
    return app


async def get_all(app, requests: list[dict]) -> list[httpx.Response]:
    """Each request: optional ``client`` (address, port), ``headers``, ``path``."""
    out = []
    for request in requests:
        transport = httpx.ASGITransport(app=app, client=request.get("client", ("10.0.0.1", 1)))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            out.append(await http.get(request.get("path", "/api/ping"), headers=request.get("headers")))
    return out


def codes(app, requests: list[dict]) -> list[int]:
    return [r.status_code for r in asyncio.run(get_all(app, requests))]


def bearer(token: str) -> dict:
    return {"headers": {"Authorization": f"Bearer {token}"}}


def test_over_the_limit_is_429_with_retry_after():
    responses = asyncio.run(get_all(app_with_limit(3), [{}] * 4))
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert 1 <= int(responses[-1].headers["retry-after"]) <= 60


def test_made_up_tokens_do_not_bypass_the_limit_of_their_address():
    """Before: every distinct Authorization header had its own bucket (300 of 300 passed)."""
    app = app_with_limit(3)
    assert codes(app, [bearer(secrets.token_hex(8)) for _ in range(5)]) == [200, 200, 200, 429, 429]


def test_a_known_teams_requests_count_for_the_team_from_any_address():
    known = KnownTokens()
    known.remember("srt_alpha", "team:1")
    app = app_with_limit(3, known)
    team_calls = [{**bearer("srt_alpha"), "client": (f"10.0.0.{i}", 1)} for i in range(4)]
    assert codes(app, team_calls) == [200, 200, 200, 429]
    assert codes(app, [{"client": ("10.0.0.1", 1)}]) == [200], "the address's own bucket is apart"
    known.forget("srt_alpha")
    assert codes(app, [{**bearer("srt_alpha"), "client": ("10.0.0.9", 1)}]) == [200], "forgotten: by address"


def test_x_forwarded_for_counts_only_from_a_trusted_proxy():
    spoofed = [{"client": ("10.0.0.1", 1), "headers": {"X-Forwarded-For": f"192.0.2.{i}"}} for i in range(4)]
    assert codes(app_with_limit(3), spoofed) == [200, 200, 200, 429], "an untrusted peer's header is ignored"
    proxied = [{"client": ("10.9.0.1", 1), "headers": {"X-Forwarded-For": f"192.0.2.{i}, 10.9.0.2"}}
               for i in range(4)]
    assert codes(app_with_limit(3, trusted_proxies=("10.9.0.0/16",)), proxied) == [200] * 4


def test_health_probes_are_never_limited():
    assert codes(app_with_limit(1), [{"path": "/healthz"}] * 5) == [200] * 5


def test_two_api_processes_share_their_counters_through_redis(redis_url):
    first, second = app_with_limit(4, storage_url=redis_url), app_with_limit(4, storage_url=redis_url)
    assert codes(first, [{}] * 2) + codes(second, [{}] * 3) == [200, 200, 200, 200, 429]


def test_a_failing_counter_store_lets_requests_through():
    app = app_with_limit(1, storage_url=f"redis://127.0.0.1:{free_port()}/0")
    assert codes(app, [{}] * 3) == [200] * 3
