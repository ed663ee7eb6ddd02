"""`srchallenge submit --wait` looks again soon after the upload (a results zip is scored in about a
second; it looked every half second before) and less often as the wait grows, within the rate limit."""

from itertools import accumulate, islice

from server.cli.submit import poll_pauses
from server.config import Settings


def test_first_looks_come_soon_and_a_long_wait_costs_few_requests():
    pauses = list(islice(poll_pauses(), 5000))
    looks = list(accumulate(pauses))  # seconds after the upload
    assert sum(at <= 1.0 for at in looks) >= 6
    assert sum(at <= 60 for at in looks) <= Settings.model_fields["rate_limit_per_minute"].default / 10
    assert max(pauses) == pauses[-1] == 2.0
