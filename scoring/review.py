"""When an entry is held for organizer review: a pure function of its stored-number figures.

Parameters are ``sum(p.numel())`` as in the field, so a model that keeps weights in buffers,
constant tensors or literals of its graph would top the parameters track with a count that does
not describe it. Every such number is counted by the measuring stage (``worker/sandbox/stored.py``)
and shown; an entry over either limit below stays unranked until an organizer approves it.
docs/ranking.md explains the defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReviewLimits:
    """``non_parameter_storage``: float32 numbers' worth of information (compressed) in tensors that
    are not parameters; ``literal_information``: the same for the numbers written into the graph
    that enter the arithmetic (their count alone would hold SwinIR-light, whose literals repeat per block)."""

    non_parameter_storage: int = 4096
    literal_information: int = 40
    __pydantic_config__ = {"extra": "forbid"}  # a misspelt key in the bundle is an error, not a default

    def __post_init__(self) -> None:
        if self.non_parameter_storage < 0 or self.literal_information < 0:
            raise ValueError(f"review limits must not be negative: {self}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> ReviewLimits:
        """Read the bundle's ``review:`` block; absent keys take the defaults."""
        values = values or {}
        unknown = set(values) - {"non_parameter_storage", "literal_information"}
        if unknown:
            raise ValueError(f"unknown review keys: {sorted(unknown)}")
        return cls(**{name: int(value) for name, value in values.items()})


def stored_total(stored: Mapping[str, Any]) -> int:
    """Numbers in non-parameter tensors (buffers and constants), every kind."""
    return sum(sum(stored.get(where, {}).values()) for where in ("buffers", "constants"))


def literal_total(stored: Mapping[str, Any]) -> int:
    return sum(stored.get("literals", {}).values())


def describe_stored(stored: Mapping[str, Any]) -> str:
    """One line for people: "29,376 in buffers (29,376 float), none in constants; literals: 22 float, 150 integer
    (22 used as values, 5 float32 numbers' worth); 29,100 float32 numbers' worth of information"."""
    def where(name: str) -> str:
        counts = stored.get(name, {})
        total = sum(counts.values())
        kinds = ", ".join(f"{n:,} {kind}" for kind, n in counts.items() if n)
        return f"{total:,} in {name} ({kinds})" if total else f"none in {name}"

    literals = stored.get("literals", {})
    return (f"{where('buffers')}, {where('constants')}; literals: {literals.get('float', 0):,} float, "
            f"{literals.get('integer', 0):,} integer ({stored.get('value_literals', 0):,} used as values, "
            f"{stored.get('literal_information', 0):,} float32 numbers' worth); "
            f"{stored.get('information', 0):,} float32 numbers' worth of information")


def hold_reasons(stored: Mapping[str, Any] | None, limits: ReviewLimits) -> list[str]:
    """Why an entry with these figures needs an organizer's review; empty when it does not.

    ``stored`` is the measuring stage's ``stored`` figure; None (a results zip, which carries no
    model) never holds.
    """
    if not stored:
        return []
    reasons = []
    if stored["information"] > limits.non_parameter_storage:
        reasons.append(
            f"buffers and constant tensors hold {stored_total(stored):,} numbers that are not parameters, "
            f"{stored['information']:,} float32 numbers' worth once compressed "
            f"(more than {limits.non_parameter_storage:,})")
    if stored.get("literal_information", 0) > limits.literal_information:  # absent from runs before it was counted
        reasons.append(
            f"the graph has {stored['value_literals']:,} numbers written into it as literals, "
            f"{stored['literal_information']:,} float32 numbers' worth once compressed "
            f"(more than {limits.literal_information:,})")
    return reasons
