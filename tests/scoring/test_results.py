import tracemalloc

import numpy as np
import pytest

from scoring.archive import ArchiveLimits
from scoring.errors import SubmissionError
from scoring.psnr import PSNR_CAP_DB, psnr
from scoring.results import README_MAX_BYTES, score_results_zip
from tests.scoring.pngs import png_bytes, random_rgb, write_zip


def make_hr(hr_dir, keys, shape=(40, 48)):
    hr_dir.mkdir(exist_ok=True)
    images = {}
    for seed, key in enumerate(keys):
        images[key] = random_rgb(*shape, seed=seed)
        np.save(hr_dir / f"{key}.npy", images[key])
    return images


def degraded(img, amount):
    noise = np.random.default_rng(amount).integers(-amount, amount + 1, img.shape)
    return np.clip(img.astype(int) + noise, 0, 255).astype(np.uint8)


def score(tmp_path, members, **kwargs):
    return score_results_zip(write_zip(tmp_path / "results.zip", members), tmp_path / "hr", **{"scale": 4, **kwargs})


def rejected(tmp_path, members) -> str:
    with pytest.raises(SubmissionError) as err:
        score(tmp_path, members)
    return str(err.value)


def test_scores_by_key_not_by_position(tmp_path):
    hr = make_hr(tmp_path / "hr", ["0801", "0802", "0803"])
    sr = {"0801": degraded(hr["0801"], 3), "0802": degraded(hr["0802"], 20), "0803": hr["0803"]}
    members = [  # out of order, mixed naming, in one folder, with a readme
        ("results/0803.png", png_bytes(sr["0803"])),
        ("results/0801x4.png", png_bytes(sr["0801"])),
        ("results/0802.png", png_bytes(sr["0802"])),
        ("results/readme.txt", "Runtime per image [s] : 0.05\nÜber\n".encode()),
    ]
    calls = []
    result = score(tmp_path, members, on_image=lambda *args: calls.append(args))

    expected = {key: psnr(sr[key], hr[key]) for key in hr}
    assert result.per_image == expected
    assert list(result.per_image) == ["0801", "0802", "0803"]
    assert result.mean_psnr == pytest.approx(np.mean([s.db for s in expected.values()]), abs=1e-12)
    assert result.per_image["0803"].db == PSNR_CAP_DB
    assert result.capped_count == 1
    assert result.readme_text == "Runtime per image [s] : 0.05\nÜber\n"
    assert calls == [("0801", 1, 3), ("0802", 2, 3), ("0803", 3, 3)]


def test_shave_is_passed_through(tmp_path):
    hr = make_hr(tmp_path / "hr", ["0801"])
    sr = hr["0801"].copy()
    sr[:2] = 0
    assert score(tmp_path, [("0801.png", png_bytes(sr))]).capped_count == 1
    assert score(tmp_path, [("0801.png", png_bytes(sr))], shave=0).capped_count == 0


def test_no_readme(tmp_path):
    hr = make_hr(tmp_path / "hr", ["0801"])
    assert score(tmp_path, [("0801.png", png_bytes(hr["0801"]))]).readme_text is None


def test_readme_is_size_limited_and_forgiving(tmp_path):
    hr = make_hr(tmp_path / "hr", ["0801"])
    image = ("0801.png", png_bytes(hr["0801"]))
    text = score(tmp_path, [image, ("readme.txt", b"\xef\xbb\xbfLatin-1 name: Jos\xe9\n")]).readme_text
    assert text == "Latin-1 name: Jos\ufffd\n"
    big = ("readme.txt", b"x" * (README_MAX_BYTES + 1))
    assert rejected(tmp_path, [image, big]) == "readme.txt is 65,537 bytes; the limit is 65,536"


def test_missing_images_are_listed(tmp_path):
    keys = [f"08{i:02}" for i in range(1, 14)]
    hr = make_hr(tmp_path / "hr", keys)
    message = rejected(tmp_path, [("0801.png", png_bytes(hr["0801"]))])
    assert message == (
        "Missing 12 of 13 images: 0802.png, 0803.png, 0804.png, 0805.png, 0806.png, 0807.png, "
        "0808.png, 0809.png, 0810.png, 0811.png and 2 more"
    )


def test_unexpected_images_are_listed(tmp_path):
    hr = make_hr(tmp_path / "hr", ["0801"])
    members = [("0801.png", png_bytes(hr["0801"])), ("0901x4.png", png_bytes(hr["0801"]))]
    assert rejected(tmp_path, members) == "Images not part of this set (1): 0901x4.png"


def test_missing_and_unexpected_images_are_named_together(tmp_path):
    hr = make_hr(tmp_path / "hr", ["0801", "0802"])
    members = [("0801.png", png_bytes(hr["0801"])), ("0901x4.png", png_bytes(hr["0801"]))]
    assert rejected(tmp_path, members) == (
        "2 problems in the zip: Missing 1 of 2 images: 0802.png; Images not part of this set (1): 0901x4.png")


def test_unexpected_other_files(tmp_path):
    hr = make_hr(tmp_path / "hr", ["0801"])
    members = [("0801.png", png_bytes(hr["0801"])), ("notes.docx", b"PK")]
    assert rejected(tmp_path, members).startswith("notes.docx is not a PNG image")


def test_duplicate_results_for_one_image(tmp_path):
    hr = make_hr(tmp_path / "hr", ["0801"])
    members = [("0801.png", png_bytes(hr["0801"])), ("0801x4.png", png_bytes(hr["0801"]))]
    assert rejected(tmp_path, members) == "0801.png and 0801x4.png are both results for image 0801"


def test_wrong_size_names_the_file(tmp_path):
    make_hr(tmp_path / "hr", ["0801"], shape=(40, 48))
    members = [("0801x4.png", png_bytes(random_rgb(10, 12)))]
    assert rejected(tmp_path, members) == "0801x4.png is 12×10, expected 48×40"


def test_bad_png_in_the_zip_names_the_file(tmp_path):
    hr = make_hr(tmp_path / "hr", ["0801", "0802"])
    members = [("0801.png", png_bytes(hr["0801"])), ("0802.png", png_bytes(hr["0802"][:, :, 0]))]
    assert rejected(tmp_path, members) == "0802.png is grayscale; submit an RGB PNG"


def test_image_pixel_limit_applies(tmp_path):
    hr = make_hr(tmp_path / "hr", ["0801"])
    with pytest.raises(SubmissionError, match="above the limit of 100"):
        score(tmp_path, [("0801.png", png_bytes(hr["0801"]))], limits=ArchiveLimits(max_image_pixels=100))


def test_missing_hr_data_is_not_the_teams_fault(tmp_path):
    (tmp_path / "hr").mkdir()
    with pytest.raises(ValueError, match="no hidden HR images"):
        score(tmp_path, [("0801.png", png_bytes(random_rgb(8, 8)))])


def peak_bytes_scoring(tmp_path, count: int) -> int:
    folder = tmp_path / str(count)
    folder.mkdir()
    hr = make_hr(folder / "hr", [f"{i:04}" for i in range(count)], shape=(96, 128))
    zip_path = write_zip(folder / "r.zip", [(f"{k}.png", png_bytes(degraded(v, 5))) for k, v in hr.items()])
    tracemalloc.start()
    try:
        score_results_zip(zip_path, folder / "hr", scale=4)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_images(tmp_path):
    # Each image is 36 KiB decoded; holding 40 of them would add well over 1 MiB to the peak.
    few, many = peak_bytes_scoring(tmp_path, 4), peak_bytes_scoring(tmp_path, 40)
    assert many < few + 512 * 1024


def test_images_of_an_earlier_set_are_ignored_only_when_retired(tmp_path):
    """A zip made before a re-import removed 0801 still scores on the current set when rescored."""
    hr = make_hr(tmp_path / "hr", ["0802"])
    members = [("0801.png", png_bytes(hr["0802"])), ("0802.png", png_bytes(hr["0802"]))]
    assert rejected(tmp_path, members) == "Images not part of this set (1): 0801.png"
    scored = score(tmp_path, members, retired={"0801"})
    assert list(scored.per_image) == ["0802"]
    members.append(("0999.png", png_bytes(hr["0802"])))
    with pytest.raises(SubmissionError, match=r"not part of this set \(1\): 0999.png"):
        score(tmp_path, members, retired={"0801"})
