"""Scoring a results zip against the hidden HR images, one image at a time.

Hidden HR convention: ``hr_dir`` holds one ``<key>.npy`` per image of the phase (uint8
H×W×3 RGB, C-order, written with ``np.save``), e.g. ``0801.npy`` for DIV2K's ``0801.png``.
They are opened with ``mmap_mode="r"`` so only the pages PSNR touches are read, and the set of
``.npy`` stems *is* the set of images the zip must cover.

SR images are paired with HR images by key (``scoring.naming``), never by position. Missing
or unexpected images fail the whole submission with their names, before any image is decoded.
Memory stays flat in the number of images: each member is read, decoded, scored and dropped
before the next one.
"""

import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from scoring.archive import ArchiveLimits, ResultsZip, open_results_zip, read_member_limited
from scoring.errors import SubmissionError
from scoring.images import decode_png
from scoring.psnr import SHAVE_BORDER, ImagePSNR, mean_psnr, psnr

README_MAX_BYTES = 64 * 1024
_LISTED = 10


@dataclass(frozen=True)
class ResultsScore:
    """The figures of one results zip. ``per_image`` is keyed and ordered by image key."""

    mean_psnr: float
    per_image: dict[str, ImagePSNR]
    capped_count: int
    readme_text: str | None

    @classmethod
    def of(cls, per_image: dict[str, ImagePSNR], readme_text: str | None) -> "ResultsScore":
        return cls(mean_psnr=mean_psnr(list(per_image.values())), per_image=per_image,
                   capped_count=sum(s.capped for s in per_image.values()), readme_text=readme_text)


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown if len(names) <= _LISTED else f"{shown} and {len(names) - _LISTED} more"


def _read_readme(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> str:
    if info.file_size > limit:
        raise SubmissionError(f"readme.txt is {info.file_size:,} bytes; the limit is {limit:,}")
    return read_member_limited(zf, info, limit).decode("utf-8-sig", errors="replace")


def hidden_keys(hr_dir: Path) -> list[str]:
    """The keys of the phase's images, sorted: the stems of ``hr_dir``'s ``.npy`` files."""
    keys = sorted(p.stem for p in Path(hr_dir).glob("*.npy"))
    if not keys:
        raise ValueError(f"no hidden HR images (*.npy) in {hr_dir}")
    return keys


def check_members(results: ResultsZip, expected: list[str], retired: Collection[str] = ()) -> str | None:
    """The checks made before any image is decoded: exactly the expected images, a sane readme.

    ``retired``: images of an earlier version of the hidden set, which a zip made for that version
    may carry; they are ignored, not refused (a rescore after a re-import). Returns the readme
    text (or None). Shared by the serial and the parallel scorer.
    """
    problems = []
    missing = [f"{key}.png" for key in expected if key not in results.images]
    if missing:
        problems.append(f"Missing {len(missing)} of {len(expected)} images: {_listing(missing)}")
    wanted = set(expected) | set(retired)
    extra = [PurePosixPath(i.filename).name for k, i in results.images.items() if k not in wanted]
    if extra:
        problems.append(f"Images not part of this set ({len(extra)}): {_listing(extra)}")
    if problems:
        raise SubmissionError.of_problems(problems)
    if results.readme is None:
        return None
    return _read_readme(results.zip, results.readme, README_MAX_BYTES)


def score_images(results: ResultsZip, hr_dir: Path, keys: Iterable[str], limits: ArchiveLimits,
                 shave: int) -> Iterator[tuple[str, ImagePSNR]]:
    """Score ``keys`` in order, one image in memory at a time; the first bad image raises.

    The one per-image loop: the serial scorer runs it over every key, each process of the
    parallel scorer (worker/parallel.py) over a run of keys.
    """
    for key in keys:
        info = results.images[key]
        name = PurePosixPath(info.filename).name
        hr = np.load(Path(hr_dir) / f"{key}.npy", mmap_mode="r", allow_pickle=False)
        data = read_member_limited(results.zip, info, limits.max_member_bytes)
        sr = decode_png(data, name, (hr.shape[1], hr.shape[0]), max_pixels=limits.max_image_pixels)
        del data
        score = psnr(sr, hr, shave, name=name)
        del sr, hr
        yield key, score


def collect_scores(scored: Iterable[tuple[str, ImagePSNR]], total: int, readme_text: str | None,
                   on_image: Callable[[str, int, int], None] | None = None) -> ResultsScore:
    """The figures of a zip from its images' scores, in key order, telling ``on_image`` of each."""
    per_image: dict[str, ImagePSNR] = {}
    for key, score in scored:
        per_image[key] = score
        if on_image is not None:
            on_image(key, len(per_image), total)
    return ResultsScore.of(per_image, readme_text)


def score_results_zip(
    zip_path: Path,
    hr_dir: Path,
    limits: ArchiveLimits = ArchiveLimits(),
    shave: int = SHAVE_BORDER,
    on_image: Callable[[str, int, int], None] | None = None,
    *,
    scale: int,
    retired: Collection[str] = (),
) -> ResultsScore:
    """Mean PSNR of the SR images in ``zip_path`` against ``hr_dir``; SubmissionError if unusable.

    ``on_image(key, index, total)`` is called after each image is scored, ``index`` counting
    from 1 to ``total``. ``readme_text`` is ``readme.txt`` decoded as UTF-8 (invalid bytes
    replaced; a factsheet typo must not fail a submission), or None when there is none.
    """
    expected = hidden_keys(hr_dir)
    with open_results_zip(zip_path, limits, scale) as results:
        readme_text = check_members(results, expected, retired)
        return collect_scores(score_images(results, hr_dir, expected, limits, shave), len(expected), readme_text,
                              on_image)
