"""A per-process cache of rendered responses, served without touching the database while young.

Why: near a deadline everyone refreshes the leaderboard. Even with the ranked board memoized per
version (server/services/leaderboard.py), each request opens a session and runs three statements
to learn the version: ~5 ms of CPU, so one API process tops out below 200 requests/s
(docs/benchmarks.md). Serving the bytes rendered less than ``max_age`` seconds ago costs what
``/healthz`` costs, and a board at most that old is what any leaderboard behind a CDN shows.
"""

import time
from collections.abc import Callable, Hashable


class RecentResponses:
    def __init__(self, max_age: float, clock: Callable[[], float] = time.monotonic):
        self.max_age, self.clock = max_age, clock
        self._entries: dict[Hashable, tuple[float, bytes]] = {}

    def get(self, key: Hashable) -> bytes | None:
        """The body stored under ``key`` if it is younger than ``max_age``, else None."""
        entry = self._entries.get(key)
        if entry is None or self.clock() - entry[0] >= self.max_age:
            return None
        return entry[1]

    def put(self, key: Hashable, body: bytes) -> None:
        """Keys are only ever routes' valid arguments (bodies of successful renders), so they are
        bounded by the number of phases and tracks; nothing else needs evicting."""
        if self.max_age > 0:
            self._entries[key] = (self.clock(), body)
