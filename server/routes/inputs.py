"""LR inputs of a phase, for participants to download. Only the public LR folder is served, and
only once the phase has opened by its date (403 before, saying when)."""

import re

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from server.deps import PhaseDep, SettingsDep
from server.services.datasets import lr_archive_path, lr_image_names
from server.services.errors import Forbidden, NotFound
from server.services.schedule import inputs_withheld
from server.services.storage import Storage


def published(phase: PhaseDep) -> None:
    if (reason := inputs_withheld(phase)) is not None:
        raise Forbidden(reason)


router = APIRouter(prefix="/api/v1/phases/{competition}/{phase}", tags=["inputs"], dependencies=[Depends(published)])
LR_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}x\d\.png$")


@router.get("/inputs", response_model=list[str], summary="Names of the phase's LR input images")
def list_inputs(phase: PhaseDep, settings: SettingsDep):
    return lr_image_names(Storage.from_settings(settings), phase)


@router.get("/inputs.zip", response_class=FileResponse, summary="All LR inputs of the phase as one zip")
def inputs_zip(phase: PhaseDep, settings: SettingsDep):
    path = lr_archive_path(Storage.from_settings(settings), phase)
    if not path.is_file():
        raise NotFound(f"phase {phase.path} has no inputs yet")
    return FileResponse(path, media_type="application/zip", filename=f"{phase.competition.slug}-{phase.slug}-LR.zip")


@router.get("/inputs/{name}", response_class=FileResponse, summary="One LR input image")
def input_image(name: str, phase: PhaseDep, settings: SettingsDep):
    storage = Storage.from_settings(settings)
    if not LR_NAME.match(name) or name not in lr_image_names(storage, phase):
        raise NotFound(f"phase {phase.path} has no input {name!r}")
    return FileResponse(storage.lr_dir(phase.competition.slug, phase.slug) / name, media_type="image/png")
