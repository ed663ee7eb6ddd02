"""A per-process cache of rendered responses, served without touching the database while young.

Why: near a deadline everyone refreshes the leaderboard. Even with the ranked board memoized per
version (server/services/leaderboard.py), each request opens a session and runs three statements
to learn the version, which caps the requests one API process can answer per second
(docs/benchmarks.md has the figures). A render younger than ``max_age`` is served as it is. One up to twice that
old is served too while a single background refresh replaces it, so that no request waits on the
database while one render is being made (a slow statement, a busy PostgreSQL, the first request
after a change that ranks the phase again). Anything older is rendered while the request waits:
a board is never more than ``2 × max_age`` seconds behind the database.

Through a database outage (``get_or_kept``) the last render of each key is served instead of a
503, with the time it was made, so a page can say what moment it shows.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime

log = logging.getLogger("srchallenge.api")
MAX_KEYS = 1024
"""Renders kept; past this many keys the oldest go (a page's query may hold any text)."""


class RecentResponses:
    def __init__(self, max_age: float, clock: Callable[[], float] = time.monotonic):
        self.max_age, self.clock = max_age, clock
        self._entries: dict[Hashable, tuple[float, bytes]] = {}
        self._last: dict[Hashable, tuple[datetime, bytes]] = {}
        self._refreshing: dict[Hashable, asyncio.Task] = {}

    async def get(self, key: Hashable, render: Callable[[], Awaitable[bytes]]) -> bytes:
        """The body for ``key``: kept, kept while one refresh runs, or rendered now (see above).

        An exception from ``render`` reaches the caller and nothing is kept. Keys are only ever a
        route's valid arguments (bodies of successful renders), so they are bounded by the number
        of phases and tracks; nothing needs evicting."""
        entry = self._entries.get(key)
        age = self.clock() - entry[0] if entry else None
        if age is not None and age < self.max_age:
            return entry[1]
        if age is not None and age < 2 * self.max_age:
            if key not in self._refreshing:
                self._refreshing[key] = asyncio.create_task(self._refresh(key, render))
            return entry[1]
        return await self._render(key, render)

    async def get_or_kept(self, key: Hashable, render: Callable[[], Awaitable[bytes]],
                          outage: tuple[type[Exception], ...]) -> tuple[bytes, datetime | None]:
        """``get``'s body and None; where rendering fails with one of ``outage`` (the database is
        unreachable), the key's last render and when it was made (the error if there is none)."""
        try:
            return await self.get(key, render), None
        except outage:
            if key not in self._last:
                raise
            made, body = self._last[key]
            log.warning("the database is unavailable; serving the render of %s", made.isoformat(timespec="seconds"))
            return body, made

    async def _render(self, key: Hashable, render: Callable[[], Awaitable[bytes]]) -> bytes:
        stamp, made = self.clock(), datetime.now(UTC)
        body = await render()
        if self.max_age > 0:
            _put(self._entries, key, (stamp, body))
        _put(self._last, key, (made, body))
        return body

    async def _refresh(self, key: Hashable, render: Callable[[], Awaitable[bytes]]) -> None:
        try:
            await self._render(key, render)
        except Exception:  # the next request past the grace renders it and gets the error itself
            log.exception("refreshing a kept response failed")
        finally:
            del self._refreshing[key]


def _put(entries: dict, key: Hashable, value) -> None:
    entries.pop(key, None)
    entries[key] = value
    if len(entries) > MAX_KEYS:
        del entries[next(iter(entries))]
