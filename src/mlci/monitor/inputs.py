"""What one monitoring run works with: its options, the production version, and what one pass over
the current data gave. Plain data shared by `commands.monitor` and the monitor package."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Options:
    """`mlci monitor [NAME] [--current S] [--reference S | --reference-profile FILE] [--save-profile FILE]
    [--format markdown|json] [--output FILE] [--open-pr]`; "" means not given."""

    name: str = ""
    current: str = ""
    reference: str = ""
    reference_profile: str = ""
    save_profile: str = ""
    fmt: str = "markdown"
    output: str = ""
    open_pr: bool = False


@dataclass(frozen=True)
class Production:
    commit: str
    version: str | None
    source: str  # "registry" or "HEAD"
    note: str = ""


@dataclass
class Observed:
    """What one pass over the current data gave."""

    data: Any  # drift.DriftResult
    prediction: Any | None  # drift.DriftResult | None
    decay: Any | None  # decay.Decay | None
    paths: list[str]
    spec: str
    rows: int
    notes: list[str]
    model_note: str = ""  # why the model's checks did not run, when it was loaded but failed
