"""Trial statistics: best of three is the figure, the spread and device travel with it."""

import pytest

from scoring.timing import TRIALS, Measurement, runtime_figure, runtime_ratio, trial_mean


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


def test_from_image_seconds_keeps_every_image_and_makes_trial_means():
    m = Measurement.from_image_seconds([[0.1, 0.3], [0.2, 0.2], [0.1, 0.1]], "cpu")
    assert m.trials == pytest.approx((0.2, 0.2, 0.1)) and m.images == 2 and m.best == pytest.approx(0.1)
    assert Measurement.from_dict(m.to_dict()) == m
    for bad in ([], [[]], [[0.1, 0.2], [0.1]], [[0.1, 0.0]], [[0.1, float("nan")]], [[0.1, "x"]]):
        with pytest.raises((ValueError, TypeError)):
            Measurement.from_image_seconds(bad, "cpu")


def test_ratio_without_noise_is_the_ratio_of_mean_times():
    """Weighted by the baseline's time per image: fast on the small image, slow on the big one
    is judged by the total, not by how many images were quick."""
    base = Measurement.from_image_seconds([[0.01, 0.10, 0.10]] * 3, "gpu")
    sub = Measurement.from_image_seconds([[0.005, 0.05, 0.30]] * 3, "gpu")
    assert runtime_ratio(sub, base) == pytest.approx(0.355 / 0.21)


def test_ratio_ignores_one_noisy_trial_per_image():
    base = Measurement.from_image_seconds([[0.10, 0.20], [0.10, 0.20], [0.10, 0.20]], "cpu")
    # a neighbour slowed the submission on image 0 in trial 0 and the baseline on image 1 in trial 2
    sub = Measurement.from_image_seconds([[0.09, 0.10], [0.05, 0.10], [0.05, 0.10]], "cpu")
    noisy_base = Measurement.from_image_seconds([[0.10, 0.20], [0.10, 0.20], [0.10, 0.60]], "cpu")
    assert runtime_ratio(sub, base) == pytest.approx(0.5)
    assert runtime_ratio(sub, noisy_base) == pytest.approx(0.5)


def test_ratio_needs_one_device_and_paired_times():
    sub = Measurement.from_image_seconds([[0.06], [0.05], [0.07]], "gpu")
    with pytest.raises(ValueError, match="cannot compare"):
        runtime_ratio(sub, Measurement.from_image_seconds([[0.1], [0.1], [0.1]], "cpu"))
    with pytest.raises(ValueError, match="per-image"):
        runtime_ratio(sub, Measurement(trials=(0.1, 0.1, 0.1), device="gpu", images=1))
    with pytest.raises(ValueError, match="per-image"):
        runtime_ratio(sub, Measurement.from_image_seconds([[0.1], [0.1]], "gpu"))


def test_trial_mean_and_trial_count():
    assert TRIALS == 3
    assert trial_mean([0.1, 0.2, 0.3]) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        trial_mean([])


@pytest.mark.parametrize("trials", [(), (0.1, 0.0), (-1.0,)])
def test_refuses_empty_or_non_positive_trials(trials):
    with pytest.raises(ValueError):
        Measurement(trials=trials, device="cpu", images=1)


def test_the_bundles_timing_protocol_makes_the_figure_and_says_how():
    measured = Measurement((0.12, 0.10, 0.14), "cpu", 10)
    assert runtime_figure(measured, "best_of") == (0.10, "best of 3 trials")
    figure, how = runtime_figure(measured, "mean_of")  # NTIRE 2024+: the mean of the runs
    assert figure == pytest.approx(0.12) and how == "mean of 3 trials"
    with pytest.raises(ValueError, match="unknown timing protocol"):
        runtime_figure(measured, "median_of")
