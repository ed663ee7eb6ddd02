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
from pathlib import Path

import numpy as np
from PIL import Image

from scoring.images import decode_png
from scoring.imresize import crop_to_multiple, imresize
from scoring.naming import image_key, lr_name
from server.models import Phase
from server.services.errors import ServiceError
from server.services.storage import Storage

Progress = Callable[[int, int], None]
HR_IMPORT_MAX_PIXELS = 100_000_000


def lr_archive_path(storage: Storage, phase: Phase) -> Path:
    return storage.lr_dir(phase.competition.slug, phase.slug).parent / "inputs.zip"


def lr_image_names(storage: Storage, phase: Phase) -> list[str]:
    folder = storage.lr_dir(phase.competition.slug, phase.slug)
    return sorted(p.name for p in folder.glob("*.png")) if folder.is_dir() else []


def _import_one(src: Path, hr_dir: Path, lr_dir: Path, scale: int) -> tuple[str, str]:
    hr = crop_to_multiple(decode_png(src, src.name, max_pixels=HR_IMPORT_MAX_PIXELS), scale)
    key = image_key(src.name)
    np.save(hr_dir / f"{key}.npy", np.ascontiguousarray(hr))
    Image.fromarray(imresize(hr, 1 / scale)).save(lr_dir / lr_name(key, scale), compress_level=6)
    return key, hashlib.sha256(hr.tobytes()).hexdigest()


def import_hr_images(storage: Storage, phase: Phase, source: Path, progress: Progress | None = None,
                     workers: int | None = None) -> int:
    files = sorted(p for p in Path(source).iterdir() if p.suffix.lower() == ".png")
    if not files:
        raise ServiceError(f"{source} holds no .png images")
    keys = [image_key(p.name) for p in files]
    if len(set(keys)) != len(keys):
        raise ServiceError(f"{source} holds two images with the same name")
    competition, scale = phase.competition.slug, phase.competition.scale
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
    for new, final in ((hr_new, hr_final), (lr_new, lr_final)):
        shutil.rmtree(final, ignore_errors=True)
        new.rename(final)
    (lr_final.parent / "inputs.zip.new").replace(lr_archive_path(storage, phase))
    phase.image_count = len(files)
    phase.dataset_version = hashlib.sha256("".join(f"{k}:{digests[k]}" for k in sorted(digests)).encode()).hexdigest()[:16]
    return len(files)


def _write_lr_archive(lr_dir: Path, dest: Path) -> None:
    # PNGs are already compressed: store them, don't deflate again
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in sorted(lr_dir.glob("*.png")):
            zf.write(path, path.name)


def hr_keys(storage: Storage, phase: Phase) -> list[str]:
    folder = storage.hr_dir(phase.competition.slug, phase.slug)
    return sorted(p.stem for p in folder.glob("*.npy"))
