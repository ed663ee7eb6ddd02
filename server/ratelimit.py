"""Per-client request rate limit (token bucket), as pure ASGI middleware.

A client is its bearer token (hashed) when it sends one, else its address, so one team cannot
starve others and anonymous scrapers are limited per address. Buckets live in this process:
with several API processes each enforces the limit on its own share of the traffic.
"""

import hashlib
import json
import time
from collections import OrderedDict

EXEMPT_PATHS = ("/healthz", "/readyz")
MAX_CLIENTS = 100_000


class TokenBucket:
    __slots__ = ("tokens", "stamp")

    def __init__(self, capacity: float, now: float):
        self.tokens, self.stamp = capacity, now

    def take(self, capacity: float, rate: float, now: float) -> float:
        """Take one token; returns 0 when allowed, else the seconds until one is available."""
        self.tokens = min(capacity, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate


class RateLimitMiddleware:
    def __init__(self, app, per_minute: int, burst: int | None = None, clock=time.monotonic):
        self.app = app
        self.rate = per_minute / 60
        self.capacity = float(burst or max(per_minute // 6, 1))
        self.clock = clock
        self.buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def client_key(self, scope) -> str:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                return "t:" + hashlib.sha256(value).hexdigest()[:32]
        client = scope.get("client")
        return "a:" + (client[0] if client else "unknown")

    def wait_for(self, key: str) -> float:
        now = self.clock()
        bucket = self.buckets.pop(key, None) or TokenBucket(self.capacity, now)
        self.buckets[key] = bucket
        if len(self.buckets) > MAX_CLIENTS:
            self.buckets.popitem(last=False)
        return bucket.take(self.capacity, self.rate, now)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.rate <= 0 or scope["path"] in EXEMPT_PATHS:
            return await self.app(scope, receive, send)
        wait = self.wait_for(self.client_key(scope))
        if not wait:
            return await self.app(scope, receive, send)
        retry_after = str(max(int(wait + 0.999), 1))
        body = json.dumps({"detail": f"too many requests; retry in {retry_after} s"}).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"), (b"retry-after", retry_after.encode()),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
