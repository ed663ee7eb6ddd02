"""How many uploads each team is streaming, capped per team across every API process.

Without a cap, a team with one quota slot left could stream eight zips at once (8 × the upload
limit on disk) and only then learn that seven are refused. With several API processes the counts
live in Redis (the rate limiter's store, ``SRCHALLENGE_RATE_LIMIT_STORAGE_URL`` or the broker's):
each upload holds a member of its team's sorted set, scored by when its lease ends, renewed while
it streams, so the uploads of an API process that died stop counting within ``LEASE_S``. Taking a
slot is one Lua script (Redis's own clock, one atomic step: no two processes both take the last
slot); ``limits`` and redis-py have counters and locks but no lease-per-holder semaphore. Where the
store is memory, or Redis fails, the count is this process's own (as the rate limiter, it fails
open rather than refusing every upload). Only the event loop touches the local counts (the upload
route is async), so no lock is needed.

A slot's member is its upload's submission id, and taking one answers the ids of the others: an
upload whose row is already committed but whose slot is not yet given back is then counted once,
as a row, not also as in flight (``submissions.uploads_still_arriving``).
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from server.services.errors import TooMany

RETRY_AFTER_S = 30
LEASE_S = 30.0
REDIS_TIMEOUT_S = 2.0  # a silent Redis costs an upload this long, then the count is this process's
log = logging.getLogger("srchallenge.api")

# KEYS[1]: the team's set; ARGV: member, cap, lease seconds. Returns the others holding a slot, or -1 (full).
TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
local others = redis.call('ZRANGE', KEYS[1], 0, -1)
if #others >= tonumber(ARGV[2]) then return -1 end
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[3]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 1)
return others
"""
RENEW = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
redis.call('ZADD', KEYS[1], 'XX', t + tonumber(ARGV[2]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return 1
"""


class UploadSlots:
    def __init__(self, per_team: int, storage_url: str = "memory://", lease_s: float = LEASE_S):
        self.per_team, self.lease_s = per_team, lease_s
        self._held: defaultdict[int, set[str]] = defaultdict(set)
        self._url = storage_url if storage_url.startswith(("redis://", "rediss://", "unix://")) else None
        if self._url is None and "redis" in storage_url.split("://")[0]:
            log.warning("upload slots: %s is not a plain Redis URL; each API process counts its own uploads",
                        storage_url.split("://")[0])
        self._clients: dict[asyncio.AbstractEventLoop, aioredis.Redis] = {}

    @property
    def _redis(self) -> aioredis.Redis | None:
        """A client of the running event loop's own (redis-py's asyncio connections belong to one)."""
        if self._url is None:
            return None
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            self._clients = {loop: aioredis.from_url(self._url, socket_timeout=REDIS_TIMEOUT_S,
                                                     socket_connect_timeout=REDIS_TIMEOUT_S)}
        return self._clients[loop]

    @asynccontextmanager
    async def hold(self, team_id: int, upload_id: str) -> AsyncIterator[list[str]]:
        """Hold one of the team's slots for ``upload_id`` (its submission's public id) for the body
        of the block; yields the ids of the team's other uploads holding one (they count against its
        quota until their rows are in)."""
        key, member = f"srchallenge:upload-slots:{team_id}", upload_id
        shared = await self._take_shared(key, member)
        others = sorted(self._held.get(team_id, ())) if shared is None else shared
        if len(others) >= self.per_team:
            raise self._full()
        self._held[team_id].add(member)
        renewal = asyncio.create_task(self._renew(key, member)) if shared is not None else None
        try:
            yield others
        finally:
            self._held[team_id].discard(member)
            if not self._held[team_id]:
                del self._held[team_id]
            if renewal is not None:
                renewal.cancel()
                with anyio.CancelScope(shield=True):  # a client that hung up still gives its slot back
                    await self._release(key, member)

    async def _take_shared(self, key: str, member: str) -> list[str] | None:
        """The others holding a slot across API processes (TooMany: none left, and none taken); None
        without Redis."""
        if self._redis is None:
            return None
        try:
            taken = await self._redis.eval(TAKE, 1, key, member, self.per_team, self.lease_s)
        except (RedisError, OSError) as err:
            log.warning("upload slots: the shared store failed (%s); counting this process's uploads only", err)
            return None
        if taken == -1:
            raise self._full()
        return [other.decode() for other in taken]

    def _full(self) -> TooMany:
        return TooMany(f"your team is already sending {self.per_team} uploads; send this one when one has "
                       "finished", headers={"Retry-After": str(RETRY_AFTER_S)})

    async def _renew(self, key: str, member: str) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self._redis.eval(RENEW, 1, key, member, self.lease_s)
            except (RedisError, OSError) as err:  # the lease may lapse: the cap loosens, nothing fails
                log.warning("upload slots: renewing a lease failed (%s)", err)

    async def _release(self, key: str, member: str) -> None:
        try:
            await self._redis.zrem(key, member)
        except (RedisError, OSError) as err:  # the lease lapses on its own
            log.warning("upload slots: releasing a slot failed (%s)", err)
