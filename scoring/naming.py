"""Pairing result images with hidden HR images by file name, never by position.

Conventions (DIV2K): the HR image ``0801.png`` has the key ``0801``; its x4 LR input is
``0801x4.png``. Teams often name their SR output after the LR file they fed in, so both
``0801.png`` and ``0801x4.png`` name the result for key ``0801``. Nothing else is stripped:
``0801_x4.png`` or ``0801_SR.png`` are not DIV2K names, and guessing at suffixes would let
two different files claim the same key silently. A key therefore never ends in ``x<scale>``
(``x4.png`` alone keeps the key ``x4``: there is nothing left to strip it from).

Keys are letters, digits, ``_`` and ``-`` (case-sensitive); the ``.png`` extension is
accepted in any case, since some Windows tools write ``.PNG``.
"""

import re

from scoring.errors import SubmissionError

_NAME = re.compile(r"(?P<stem>[A-Za-z0-9][A-Za-z0-9_-]*)\.png", re.IGNORECASE)


def image_key(filename: str, scale: int) -> str:
    """The image key for a file name such as ``0801.png`` or ``0801x4.png`` (both ``0801``).

    ``filename`` is a base name, without folders. Raises SubmissionError for anything
    that is not ``<stem>.png``.
    """
    match = _NAME.fullmatch(filename)
    if match is None:
        raise SubmissionError(
            f"{filename!r} is not an image name of the form <name>.png "
            "(letters, digits, '_' and '-' only, e.g. 0801.png or 0801x4.png)"
        )
    stem = match["stem"]
    suffix = f"x{scale}"
    if stem.endswith(suffix) and len(stem) > len(suffix):
        return stem[: -len(suffix)]
    return stem


def lr_name(key: str, scale: int) -> str:
    """The LR input file name for ``key``: ``0801`` → ``0801x4.png``."""
    return f"{key}x{scale}.png"
