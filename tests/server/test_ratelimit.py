"""The rate limiter on a real ASGI app, driven by httpx in process, with a controllable clock."""

import asyncio

import httpx
from fastapi import FastAPI

from server.ratelimit import RateLimitMiddleware


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def app_with_limit(per_minute: int, burst: int, clock: Clock) -> FastAPI:
    app = FastAPI()

    @app.get("/api/ping")
    def ping():
        return {"ok": True}

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    app.add_middleware(RateLimitMiddleware, per_minute=per_minute, burst=burst, clock=clock)
    return app


async def statuses(app, n: int, path: str = "/api/ping", headers=None, client=("10.0.0.1", 1)) -> list[int]:
    transport = httpx.ASGITransport(app=app, client=client)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return [(await http.get(path, headers=headers)).status_code for _ in range(n)]


def test_burst_then_429_with_retry_after_then_refill():
    clock = Clock()
    app = app_with_limit(per_minute=60, burst=3, clock=clock)
    assert asyncio.run(statuses(app, 5)) == [200, 200, 200, 429, 429]
    clock.now += 1.0
    assert asyncio.run(statuses(app, 2)) == [200, 429]


def test_retry_after_header_says_when():
    clock = Clock()
    app = app_with_limit(per_minute=6, burst=1, clock=clock)

    async def second_response():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            await http.get("/api/ping")
            return await http.get("/api/ping")

    response = asyncio.run(second_response())
    assert response.status_code == 429 and response.headers["retry-after"] == "10"


def test_tokens_and_addresses_have_separate_buckets():
    clock = Clock()
    app = app_with_limit(per_minute=60, burst=1, clock=clock)
    assert asyncio.run(statuses(app, 2, headers={"Authorization": "Bearer a"})) == [200, 429]
    assert asyncio.run(statuses(app, 1, headers={"Authorization": "Bearer b"})) == [200]
    assert asyncio.run(statuses(app, 1, client=("10.0.0.2", 1))) == [200]


def test_health_probes_are_never_limited():
    clock = Clock()
    app = app_with_limit(per_minute=60, burst=1, clock=clock)
    assert asyncio.run(statuses(app, 5, path="/healthz")) == [200] * 5
