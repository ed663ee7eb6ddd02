"""The competition bundle: what loads is what the leaderboard can rank, and a bad key is named."""

import pytest
import yaml

from server.bundle import BundleError, load_bundle, shipped_bundle_path


def write_bundle(tmp_path, **changes):
    bundle = yaml.safe_load(shipped_bundle_path().read_text())
    for key, value in changes.items():
        bundle[key] = value
    path = tmp_path / "bundle.yaml"
    path.write_text(yaml.safe_dump(bundle))
    return path


def test_the_shipped_bundle_loads_with_its_tracks_in_order():
    bundle = load_bundle(shipped_bundle_path())
    assert [t.rank_by for t in bundle.tracks] == ["params", "runtime", "psnr"]


def test_a_track_breaking_ties_by_its_own_ranked_figure_is_refused_at_load_naming_the_key(tmp_path):
    # issue 14: this bundle used to load, and then every leaderboard request of its phases failed
    path = write_bundle(tmp_path, tracks=[{"slug": "psnr", "title": "Fidelity", "rank_by": "psnr",
                                           "tie_break": ["psnr"]}])
    with pytest.raises(BundleError) as refused:
        load_bundle(path)
    message = str(refused.value)
    assert "tracks.0" in message and "tie_break" in message and "'psnr'" in message


@pytest.mark.parametrize(("changes", "key"), [
    ({"tracks": [{"slug": "psnr", "title": "Fidelity", "rank_by": "flops"}]}, "tracks.0.rank_by"),
    ({"tracks": [{"slug": "Bad Slug", "title": "Fidelity", "rank_by": "psnr"}]}, "tracks.0"),
    ({"tolerances": {"runtime_ratio": 0.5}}, "tolerances"),
])
def test_other_bad_track_rules_and_tolerances_are_refused_naming_the_key(tmp_path, changes, key):
    with pytest.raises(BundleError, match=key.replace(".", r"\.")):
        load_bundle(write_bundle(tmp_path, **changes))


@pytest.mark.parametrize("changes", [
    {"tolerances": {"psnr": 1}},
    {"tracks": [{"slug": "psnr", "title": "Fidelity", "rank_by": "psnr", "tiebreak": ["params"]}]},
])
def test_a_misspelt_tolerance_or_track_key_is_refused_not_a_silent_default(tmp_path, changes):
    """``tolerances: {psnr: 1}`` loaded with zero slack (the default), as if the key were not there."""
    misspelt = next(iter((changes.get("tolerances") or changes["tracks"][0]).keys() - {"slug", "title", "rank_by"}))
    with pytest.raises(BundleError, match=misspelt):
        load_bundle(write_bundle(tmp_path, **changes))
