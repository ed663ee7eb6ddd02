"""How many uploads each team is streaming into this API process, capped per team.

Without a cap, a team with one quota slot left could stream eight zips at once (8 × the upload
limit on disk) and only then learn that seven are refused. Only the event loop touches the counts
(the upload route is async), so no lock is needed.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from server.services.errors import TooMany

RETRY_AFTER_S = 30


class UploadSlots:
    def __init__(self, per_team: int):
        self.per_team = per_team
        self._held: Counter[int] = Counter()

    @contextmanager
    def hold(self, team_id: int) -> Iterator[int]:
        """Hold one of the team's slots for the body of the block; yields how many other uploads
        of the team are in flight (they count against its quota)."""
        if self._held[team_id] >= self.per_team:
            raise TooMany(f"your team is already sending {self.per_team} uploads; send this one when one has "
                          "finished", headers={"Retry-After": str(RETRY_AFTER_S)})
        self._held[team_id] += 1
        try:
            yield self._held[team_id] - 1
        finally:
            self._held[team_id] -= 1
            if not self._held[team_id]:
                del self._held[team_id]
