"""Trial statistics: best of three is the figure, the spread and device travel with it."""

import pytest

from scoring.timing import TRIALS, Measurement, runtime_ratio, trial_mean


def test_best_median_and_spread():
    m = Measurement(trials=(0.12, 0.10, 0.11), device="NVIDIA H100", images=100)
    assert m.best == 0.10
    assert m.median == 0.11
    assert m.spread == pytest.approx(0.2)


def test_printed_like_a_benchmark_record():
    text = str(Measurement(trials=(0.0125, 0.0130, 0.0127), device="cpu", images=8))
    assert "12.50 ms/image best of 3 trials" in text
    assert "median 12.70 ms" in text and "spread 4.0%" in text and "on cpu" in text


def test_round_trips_through_a_dict():
    m = Measurement(trials=(0.2, 0.3, 0.25), device="cpu", images=4)
    assert Measurement.from_dict(m.to_dict()) == m
    assert m.to_dict()["trials"] == [0.2, 0.3, 0.25]


def test_ratio_is_best_over_best_on_one_device():
    sub = Measurement(trials=(0.06, 0.05, 0.07), device="gpu", images=100)
    base = Measurement(trials=(0.13, 0.10, 0.12), device="gpu", images=100)
    assert runtime_ratio(sub, base) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="cannot compare"):
        runtime_ratio(sub, Measurement(trials=(0.1,), device="cpu", images=100))


def test_trial_mean_and_trial_count():
    assert TRIALS == 3
    assert trial_mean([0.1, 0.2, 0.3]) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        trial_mean([])


@pytest.mark.parametrize("trials", [(), (0.1, 0.0), (-1.0,)])
def test_refuses_empty_or_non_positive_trials(trials):
    with pytest.raises(ValueError):
        Measurement(trials=trials, device="cpu", images=1)
