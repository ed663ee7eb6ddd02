"""Per-client request rate limit, as pure ASGI middleware over the `limits` library.

Who a client is: a team (or organizer) whose token this API process has already seen pass
authentication counts as that team, from wherever it calls; every other request (no token, a wrong,
random or revoked one: guesses included) counts against the client's address, so made-up headers
cannot mint fresh buckets. The address is the connection's peer, or, when the peer is one of the
configured trusted proxies (``SRCHALLENGE_TRUSTED_PROXIES``), the last address of
``X-Forwarded-For`` that is not a trusted proxy; a header from anyone else is ignored.

Counters live in Redis when one is configured (``SRCHALLENGE_RATE_LIMIT_STORAGE_URL``, by default
the broker's Redis), shared by every API process; else in this process. A moving window of one
minute; if the counter store fails, requests pass (a limiter outage must not become an API outage).
"""

import hashlib
import ipaddress
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Iterable

from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

EXEMPT_PATHS = ("/healthz", "/readyz")
MAX_KNOWN_TOKENS = 100_000
log = logging.getLogger("srchallenge.api")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class KnownTokens:
    """Token digests that passed authentication here, and whose bucket they count in (bounded LRU).

    Filled by the authentication dependencies (server/deps.py), emptied for a token that fails."""

    def __init__(self, capacity: int = MAX_KNOWN_TOKENS):
        self.capacity = capacity
        self._keys: OrderedDict[str, str] = OrderedDict()

    def remember(self, token: str, client_key: str) -> None:
        digest = token_digest(token)
        self._keys.pop(digest, None)
        self._keys[digest] = client_key
        if len(self._keys) > self.capacity:
            self._keys.popitem(last=False)

    def forget(self, token: str) -> None:
        self._keys.pop(token_digest(token), None)

    def client_key(self, token: str) -> str | None:
        return self._keys.get(token_digest(token))


def parse_networks(entries: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _is_in(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(scope, trusted_proxies) -> str:
    peer = (scope.get("client") or ("unknown", 0))[0]
    if not trusted_proxies or not _is_in(peer, trusted_proxies):
        return peer
    forwarded = [value.decode("latin-1") for name, value in scope.get("headers", []) if name == b"x-forwarded-for"]
    hops = [hop.strip() for line in forwarded for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):  # the proxies append: the rightmost untrusted hop is the client
        if not _is_in(hop, trusted_proxies):
            return hop
    return peer


def bearer(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class RateLimitMiddleware:
    def __init__(self, app, per_minute: int, known_tokens: KnownTokens | None = None,
                 storage_url: str = "memory://", trusted_proxies: Iterable[str] = ()):
        self.app = app
        self.limit = RateLimitItemPerMinute(per_minute)
        self.known_tokens = known_tokens if known_tokens is not None else KnownTokens()
        self.trusted_proxies = parse_networks(trusted_proxies)
        options = {"implementation": "redispy"} if "redis" in storage_url.split("://", 1)[0] else {}
        self.limiter = MovingWindowRateLimiter(storage_from_string(f"async+{storage_url}", **options))

    def client_key(self, scope) -> str:
        token = bearer(scope)
        known = self.known_tokens.client_key(token) if token else None
        return known or "addr:" + client_address(scope, self.trusted_proxies)

    async def wait_for(self, key: str) -> float:
        """0 when the request may pass, else the seconds until it may."""
        try:
            if await self.limiter.hit(self.limit, key):
                return 0.0
            stats = await self.limiter.get_window_stats(self.limit, key)
        except Exception as err:  # the counter store is down: let requests through
            log.warning("rate limit not applied: its counter store failed (%s)", err)
            return 0.0
        return max(stats.reset_time - time.time(), 1.0)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            return await self.app(scope, receive, send)
        wait = await self.wait_for(self.client_key(scope))
        if not wait:
            return await self.app(scope, receive, send)
        retry_after = str(math.ceil(wait))
        body = json.dumps({"detail": f"too many requests; retry in {retry_after} s"}).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"), (b"retry-after", retry_after.encode()),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
