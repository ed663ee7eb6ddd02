"""The demo competition: the shipped AIM 2019 bundle with scikit-image's colour photos as hidden HR.

The bundle's baseline PSNR is MSRResNet's on DIV2K: on the demo's photos it would rank
bicubic upscaling above MSRResNet, so the demo records it as not measured there, with the reason.

Idempotent: running the demo again reuses what is there and issues the demo team a fresh token
(tokens are stored hashed, so the old one cannot be shown again).
"""

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.imresize import imresize
from scoring.naming import image_key
from server.bundle import load_bundle, shipped_bundle_path
from server.models import Competition, Team
from server.services.baseline import set_baseline
from server.services.competitions import create_competition
from server.services.datasets import import_hr_images
from server.services.storage import Storage
from server.services.teams import create_team, rotate_token

DEMO_TEAM = "demo-bicubic"
DEMO_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "ihc.png",
               "motorcycle_left.png", "motorcycle_right.png", "retina.jpg", "rocket.jpg", "color.png")
FIRST_KEY = {"validation": 801, "test": 901}


def skimage_photo_dir() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data"


def write_demo_hr(dest: Path, first_key: int, mirrored: bool) -> None:
    """DIV2K-style names (0801.png, …); the test phase uses mirrored photos so the sets differ."""
    for offset, name in enumerate(DEMO_PHOTOS):
        image = Image.open(skimage_photo_dir() / name).convert("RGB")
        if mirrored:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        image.save(dest / f"{first_key + offset:04d}.png")


def demo_psnr_reason(bundle_psnr: float | None) -> str:
    """Why the demo shows no baseline PSNR: the bundle's is MSRResNet's on DIV2K, not on these photos."""
    return (f"the bundle's {bundle_psnr:.2f} dB is MSRResNet's PSNR on DIV2K; the demo scores other photos, "
            "and no trained MSRResNet ships with srchallenge to measure it on them")


def seed_demo(session: Session, storage: Storage) -> tuple[Competition, str]:
    bundle = load_bundle(shipped_bundle_path())
    competition = session.scalar(select(Competition).where(Competition.slug == bundle.slug))
    if competition is None:
        competition = create_competition(session, bundle, actor="demo")
        for phase in competition.phases:
            set_baseline(session, phase, "demo", psnr_not_measured=demo_psnr_reason(phase.baseline_psnr))
    for phase in competition.phases:
        if phase.image_count == 0:
            with tempfile.TemporaryDirectory() as tmp:
                write_demo_hr(Path(tmp), FIRST_KEY.get(phase.slug, 1), mirrored=phase.slug != "validation")
                import_hr_images(storage, phase, Path(tmp), actor="demo")
    team = session.scalar(select(Team).where(Team.name == DEMO_TEAM))
    token = rotate_token(session, team) if team is not None else create_team(session, DEMO_TEAM)[1]
    session.commit()
    return competition, token


def bicubic_results_zip(storage: Storage, competition: str, phase: str, scale: int) -> bytes:
    """A results zip made by MATLAB-bicubic upscaling of the LR inputs: the demo's entry."""
    buffer = io.BytesIO()
    lr_dir = storage.lr_dir(competition, phase)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(p.name for p in lr_dir.glob("*.png")):
            lr = np.asarray(Image.open(lr_dir / name).convert("RGB"))
            png = io.BytesIO()
            Image.fromarray(imresize(lr, scale)).save(png, format="PNG", compress_level=1)
            zf.writestr(f"{image_key(name, scale)}.png", png.getvalue())
        zf.writestr("readme.txt", "Runtime per image [s] : 0.01\nParameters : 0\nCPU[1] / GPU[0] : 1\n"
                                  "Extra Data [1] / No Extra Data [0] : 0\nOther description : bicubic upscaling\n")
    return buffer.getvalue()

