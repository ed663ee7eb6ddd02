"""`srchallenge submit --wait` looks again soon after the upload (a results zip is scored in about a
second; it looked every half second before) and less often as the wait grows, within the rate limit."""

from server.cli.submit import poll_pause
from server.config import Settings


def looks_within(seconds: float) -> list[float]:
    """When the client looks, in seconds after the upload, if the submission is not done by then."""
    at, looks = 0.0, []
    while at <= seconds:
        looks.append(at)
        at += poll_pause(at)
    return looks


def test_first_looks_come_soon_and_a_long_wait_costs_few_requests():
    looks = looks_within(600)
    assert sum(at <= 1.0 for at in looks) >= 10
    assert all(later - at <= max(0.1, at / 20) + 1e-9 for at, later in zip(looks, looks[1:]))  # 5 % of the wait
    assert sum(at <= 60 for at in looks) < 100  # every half second: 120
    assert len(looks) < Settings.model_fields["rate_limit_per_minute"].default  # in 10 minutes
    assert max(b - a for a, b in zip(looks, looks[1:])) == 2.0
