"""Read the self-reported figures from an NTIRE/AIM-style ``readme.txt``.

The NTIRE convention is one ``key : value`` per line, for example::

    Runtime per image [s] : 0.10
    Parameters : 1517571
    CPU[1] / GPU[0] : 0
    Extra Data [1] / No Extra Data [0] : 1
    Other description : Solution based on ...

Teams edit this file by hand, so keys are matched by their words, whatever the case, spacing,
punctuation or bracketed hints ("[s]", "[1]"); unknown keys are ignored; the description may run
over several lines. A number that cannot be read is a SubmissionError the team can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scoring.bounds import MAX_PARAMS, MAX_SECONDS_PER_IMAGE  # past them a typo or an attack (``inf`` ranks first)
from scoring.errors import SubmissionError


def yes_no(text: str) -> bool | None:
    """The one reading of a yes/no answer (readme flags, form fields, leaderboard CSV cells):
    1/yes/true/y → True, 0/no/false/n → False, any case and spacing; anything else None."""
    return _YES_NO.get(text.strip().lower())


@dataclass(frozen=True)
class Factsheet:
    """What a team says about its own entry; None where the readme does not say.

    ``runtime`` and ``runtime_baseline`` are seconds per image on the team's machine, the second
    for the baseline model (their ratio is the own-machine ratio the validation phase ranks).
    ``uses_gpu`` is NTIRE's "CPU[1] / GPU[0]" flag turned the right way up; ``gpu`` names the device.
    """

    params: int | None = None
    runtime: float | None = None
    runtime_baseline: float | None = None
    uses_gpu: bool | None = None
    gpu: str | None = None
    extra_data: bool | None = None
    description: str = ""


_BRACKETED = re.compile(r"\[[^\]]*\]|\([^)]*\)")
_SECONDS = re.compile(r"^([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)\s*(ms|s|sec|secs|seconds)?$", re.IGNORECASE)
_YES_NO = {"1": True, "yes": True, "true": True, "y": True, "0": False, "no": False, "false": False, "n": False}
_RUNTIME_WORDS = {"runtime", "running", "inference"}


def parse_factsheet(readme: str | bytes, baseline_name: str = "MSRResNet") -> Factsheet:
    """Parse ``readme.txt``; ``baseline_name`` recognises keys like "Runtime of MSRResNet [s]".

    The description runs on over the following lines until a line names a figure not given yet,
    so a description that mentions "Training time: 2 days" stays a description. Bytes are read
    as UTF-8 (with or without BOM), else Latin-1, since Windows editors write either.
    """
    baseline_words = set(_words(baseline_name)) | {"baseline"}
    found: dict[str, tuple[str, str]] = {}
    description: list[str] = []
    in_description = False
    for line in _decode(readme).splitlines():
        key, sep, value = line.partition(":")
        field = _field_for(key, baseline_words) if sep else None
        if in_description and (field is None or field in found or field == "description"):
            description.append(line.rstrip())
            continue
        if field is None:
            continue
        in_description = field == "description"
        if in_description:
            description.append(value.strip())
        elif value.strip():
            if field in found:
                raise SubmissionError(f'readme.txt gives the {_LABELS[field]} twice ("{key.strip()}"); keep one line')
            found[field] = (key, value.strip())
    return Factsheet(
        params=_count(*found["params"]) if "params" in found else None,
        runtime=_seconds(*found["runtime"]) if "runtime" in found else None,
        runtime_baseline=_seconds(*found["runtime_baseline"]) if "runtime_baseline" in found else None,
        uses_gpu=not _flag(*found["cpu_flag"]) if "cpu_flag" in found else None,
        gpu=found["gpu"][1] if "gpu" in found else None,
        extra_data=_flag(*found["extra_data"]) if "extra_data" in found else None,
        description="\n".join(description).strip(),
    )


_LABELS = {
    "params": "parameter count",
    "runtime": "runtime",
    "runtime_baseline": "baseline runtime",
    "cpu_flag": "CPU/GPU flag",
    "gpu": "GPU",
    "extra_data": "extra data flag",
}


def _field_for(key: str, baseline_words: set[str]) -> str | None:
    """Which Factsheet field a key names, judged by its words; None for keys we do not use."""
    words = set(_words(_BRACKETED.sub(" ", key)))
    if "description" in words:
        return "description"
    if "hyper" in words:
        return None
    if {"cpu", "gpu"} <= words:
        return "cpu_flag"
    if "extra" in words:
        return "extra_data"
    if any(w.startswith("param") for w in words):
        return "params"
    if words & _RUNTIME_WORDS or {"time", "image"} <= words:
        return "runtime_baseline" if words & baseline_words else "runtime"
    if words & {"gpu", "device"}:
        return "gpu"
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def seconds_per_image(label: str, value: str, milliseconds: bool = False) -> float:
    """A self-reported runtime, from readme.txt or a form field: finite, more than 0, at most an
    hour; "ms" in the value (or ``milliseconds``) means milliseconds. ``label`` names the field in
    the error the team reads."""
    match = _SECONDS.match(value.strip())
    try:
        number = float(match.group(1)) if match else None
    except ValueError:
        number = None
    if number is None:
        raise SubmissionError(f'{label} should be seconds per image, like 0.10; got "{value}"')
    unit = (match.group(2) or ("ms" if milliseconds else "s")).lower()
    seconds = number / 1000 if unit == "ms" else number
    if not seconds > 0:
        raise SubmissionError(f'{label} must be more than 0 seconds; got "{value}"')
    if not seconds <= MAX_SECONDS_PER_IMAGE:
        raise SubmissionError(f'{label} must be at most {MAX_SECONDS_PER_IMAGE:g} seconds per image; got "{value}"')
    return seconds


def parameter_count(label: str, value: str) -> int:
    """A self-reported parameter count: the exact count (digits, thousands separators allowed),
    at most MAX_PARAMS (0 stands: a method with no learned parameters, bicubic for one)."""
    digits = re.sub(r"[\s,_'\u2009\u202f]", "", value)
    if not digits.isascii() or not digits.isdigit():
        raise SubmissionError(f'{label} should be the exact count, like 1517571; got "{value}"')
    significant = digits.lstrip("0") or "0"
    if len(significant) > len(str(MAX_PARAMS)) or int(significant) > MAX_PARAMS:
        raise SubmissionError(f'{label} must be from 0 to {MAX_PARAMS:,}; got "{value}"')
    return int(significant)


def _seconds(key: str, value: str) -> float:
    """Milliseconds where the key says "ms" ("Runtime [ms] : 45")."""
    in_ms = bool(re.search(r"[\[(]\s*ms\s*[\])]", key, re.IGNORECASE))
    return seconds_per_image(f'readme.txt: "{key.strip()}"', value, milliseconds=in_ms)


def _count(key: str, value: str) -> int:
    return parameter_count(f'readme.txt: "{key.strip()}"', value)


def _flag(key: str, value: str) -> bool:
    first = _words(value)[:1]
    flag = yes_no(first[0]) if first else None
    if flag is None:
        raise SubmissionError(f'readme.txt: "{key.strip()}" should be 1 or 0; got "{value}"')
    return flag


def _decode(readme: str | bytes) -> str:
    if isinstance(readme, str):
        return readme
    try:
        return readme.decode("utf-8-sig")
    except UnicodeDecodeError:
        return readme.decode("latin-1")
