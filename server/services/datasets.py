"""Hidden data import: HR PNGs → private raw arrays + public MATLAB-bicubic LR inputs.

HR images are decoded once here and kept as ``.npy`` so scoring maps them instead of decoding
PNGs again for every submission. The new set is written beside the old one and swapped in at the
end, so a failed import never leaves a phase half-replaced.
"""

import hashlib
import os
import shutil
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from scoring.errors import SubmissionError
from scoring.images import decode_png
from scoring.imresize import crop_to_multiple, imresize
from scoring.naming import image_key, lr_name
from server.models import DatasetVersion, Phase
from server.services.audit import record_event
from server.services.errors import ServiceError
from server.services.schedule import inputs_withheld
from server.services.storage import Storage

Progress = Callable[[int, int], None]
HR_IMPORT_MAX_PIXELS = 100_000_000


def lr_archive_path(storage: Storage, phase: Phase) -> Path:
    return storage.lr_dir(phase.competition.slug, phase.slug).parent / "inputs.zip"


def inputs_unavailable(storage: Storage, phase: Phase) -> str | None:
    """Why the phase's LR inputs cannot be downloaded now (not yet published, or not imported), or
    None when ``inputs.zip`` is served: the pages link it only then."""
    return inputs_withheld(phase) or (None if lr_archive_path(storage, phase).is_file()
                                      else f"phase {phase.path} has no inputs yet")


def lr_image_names(storage: Storage, phase: Phase) -> list[str]:
    folder = storage.lr_dir(phase.competition.slug, phase.slug)
    return sorted(p.name for p in folder.glob("*.png")) if folder.is_dir() else []


def _import_one(src: Path, hr_dir: Path, lr_dir: Path, scale: int) -> tuple[str, str]:
    hr = crop_to_multiple(decode_png(src, src.name, max_pixels=HR_IMPORT_MAX_PIXELS), scale)
    key = image_key(src.name, scale)
    np.save(hr_dir / f"{key}.npy", np.ascontiguousarray(hr))
    Image.fromarray(imresize(hr, 1 / scale)).save(lr_dir / lr_name(key, scale), compress_level=6)
    return key, hashlib.sha256(hr.tobytes()).hexdigest()


def import_hr_images(storage: Storage, phase: Phase, source: Path, progress: Progress | None = None,
                     workers: int | None = None, actor: str = "cli") -> "ImportSummary":
    """Import (or re-import) a phase's hidden set; the summary says what changed from the set before."""
    if not Path(source).is_dir():
        raise ServiceError(f"{source} is not a folder (give --hr the folder holding the HR .png images)")
    files = sorted(p for p in Path(source).iterdir() if p.suffix.lower() == ".png")
    if not files:
        raise ServiceError(f"{source} holds no .png images")
    try:
        return _import(storage, phase, source, files, progress, workers, actor)
    except SubmissionError as err:  # a bad name or image: the organizer's to fix, said in one line
        raise ServiceError(f"{source}: {err}; nothing was imported") from None


def _import(storage: Storage, phase: Phase, source: Path, files: list[Path], progress: Progress | None,
            workers: int | None, actor: str) -> "ImportSummary":
    competition, scale = phase.competition.slug, phase.competition.scale
    keys = [image_key(p.name, scale) for p in files]
    if len(set(keys)) != len(keys):
        raise ServiceError(f"{source} holds two images with the same name")
    hr_final, lr_final = storage.hr_dir(competition, phase.slug), storage.lr_dir(competition, phase.slug)
    hr_new, lr_new = hr_final.with_name("hr.new"), lr_final.with_name("lr.new")
    for folder in (hr_new, lr_new):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    os.chmod(hr_new.parent, 0o700)
    digests = {}
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        futures = [pool.submit(_import_one, f, hr_new, lr_new, scale) for f in files]
        for done, future in enumerate(futures, 1):
            key, digest = future.result()
            digests[key] = digest
            if progress:
                progress(done, len(files))
    _write_lr_archive(lr_new, lr_new.parent / "inputs.zip.new")
    previous = _previous_images(object_session(phase), phase, hr_final)
    (lr_final.parent / "inputs.zip.new").replace(lr_archive_path(storage, phase))
    for new, final in ((hr_new, hr_final), (lr_new, lr_final)):
        shutil.rmtree(final, ignore_errors=True)
        new.rename(final)
    phase.image_count = len(files)
    phase.dataset_version = hashlib.sha256("".join(f"{k}:{digests[k]}" for k in sorted(digests)).encode()).hexdigest()[:16]
    return _record_version(object_session(phase), phase, digests, previous, actor)


@dataclass(frozen=True)
class ImportSummary:
    images: int
    version: int
    """The number of this version of the phase's set (1 for the first import)."""
    added: list[str]
    removed: list[str]
    replaced: list[str]
    unchanged: bool

    def describe(self) -> str:
        if self.version == 1:
            return f"{self.images} images (version 1 of the hidden set)"
        if self.unchanged:
            return f"{self.images} images, identical to the set already imported (still version {self.version})"
        parts = [f"{len(names)} {what} ({_listing(names)})" for what, names in
                 (("added", self.added), ("removed", self.removed), ("replaced", self.replaced)) if names]
        return (f"{self.images} images, version {self.version} of the hidden set: " + ", ".join(parts)
                + "; figures scored on the older set are marked until `srchallenge rescore --phase P --all`")


def _listing(keys: list[str], shown: int = 8) -> str:
    return ", ".join(keys[:shown]) + (f" and {len(keys) - shown} more" if len(keys) > shown else "")


def _previous_images(session: Session | None, phase: Phase, hr_final: Path) -> tuple[int, dict[str, str]]:
    """(number, image digests) of the set being replaced; read from the files when it predates versions."""
    latest = _latest_version(session, phase) if session is not None else None
    if latest is not None:
        return latest.number, dict(latest.images)
    if not hr_final.is_dir():
        return 0, {}
    return (1 if phase.image_count else 0), {
        p.stem: hashlib.sha256(np.load(p, allow_pickle=False).tobytes()).hexdigest() for p in hr_final.glob("*.npy")}


def _latest_version(session: Session, phase: Phase) -> DatasetVersion | None:
    return session.scalar(select(DatasetVersion).where(DatasetVersion.phase_id == phase.id)
                          .order_by(DatasetVersion.number.desc()).limit(1))


def _record_version(session: Session | None, phase: Phase, digests: dict[str, str],
                    previous: tuple[int, dict[str, str]], actor: str) -> ImportSummary:
    number, before = previous
    added = sorted(digests.keys() - before.keys())
    removed = sorted(before.keys() - digests.keys())
    replaced = sorted(k for k in digests.keys() & before.keys() if digests[k] != before[k])
    unchanged = number > 0 and not (added or removed or replaced)
    if not unchanged:
        number += 1
    summary = ImportSummary(len(digests), number, added if number > 1 else [], removed, replaced, unchanged)
    if session is not None and not unchanged:
        session.add(DatasetVersion(phase_id=phase.id, number=number, digest=phase.dataset_version, actor=actor,
                                   images=digests, added=summary.added, removed=removed, replaced=replaced))
        record_event(session, actor, "dataset.import", phase.path, f"hidden set of {phase.path}: {summary.describe()}",
                     {"version": number, "digest": phase.dataset_version, "added": summary.added,
                      "removed": removed, "replaced": replaced})
    return summary


def version_numbers(session: Session, phase: Phase) -> dict[str, int]:
    """Digest (as runs and submissions record it) → version number, for the phase's imports."""
    return dict(session.execute(select(DatasetVersion.digest, DatasetVersion.number)
                                .where(DatasetVersion.phase_id == phase.id)).all())


def retired_keys(session: Session, phase: Phase) -> set[str]:
    """Images of the phase's earlier sets that its current set no longer holds: a results zip made
    for an earlier set may still carry them, and a rescore ignores them rather than fail."""
    current = set(hr_keys_of_versions(session, phase, latest_only=True))
    return set(hr_keys_of_versions(session, phase)) - current


def hr_keys_of_versions(session: Session, phase: Phase, latest_only: bool = False) -> list[str]:
    versions = list(session.scalars(select(DatasetVersion).where(DatasetVersion.phase_id == phase.id)
                                    .order_by(DatasetVersion.number.desc())))
    return [key for version in versions[:1 if latest_only else None] for key in version.images]


def _write_lr_archive(lr_dir: Path, dest: Path) -> None:
    # PNGs are already compressed: store them, don't deflate again
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in sorted(lr_dir.glob("*.png")):
            zf.write(path, path.name)


def hr_keys(storage: Storage, phase: Phase) -> list[str]:
    folder = storage.hr_dir(phase.competition.slug, phase.slug)
    return sorted(p.stem for p in folder.glob("*.npy"))
