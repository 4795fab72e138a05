"""Metric values at two revisions, compared row by row, with the direction that counts as better.

Values come from DVC (see `mlci.repo.revision`), so keys are DVC's dotted keys and the numbers are the ones
`dvc metrics diff` shows. Non-numeric values (strings, booleans) are shown but not diffed, like DVC.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlci.config import Config, MetricsConfig

Direction = Literal["higher", "lower"]
Status = Literal["changed", "unchanged", "added", "removed"]

# name parts that mean "lower is better" unless the config says otherwise
LOWER_WORDS = frozenset(
    {"loss", "error", "err", "mae", "mse", "rmse", "mape", "latency", "perplexity", "fpr", "fnr", "brier"}
)
_LOWER_INFIXES = ("loss", "error", "latency")  # also inside words: logloss, val_error_rate


@dataclass(frozen=True)
class MetricRow:
    file: str
    key: str  # DVC's dotted key
    base: float | None  # None = absent on that side (or not a number: see base_text)
    head: float | None
    change: float | None
    change_pct: float | None
    direction: Direction
    status: Status
    base_text: str = ""  # non-numeric value as text (strings, booleans); "" otherwise
    head_text: str = ""

    @property
    def name(self) -> str:
        """`file:key` — the unambiguous name used in messages and gates."""
        return f"{self.file}:{self.key}" if self.key else self.file

    @property
    def numeric(self) -> bool:
        return not (self.base_text or self.head_text)

    @property
    def better(self) -> bool | None:
        """True when the change goes the good way, False the bad way, None when no change or no diff."""
        if self.change is None or self.change == 0:
            return None
        return (self.change > 0) == (self.direction == "higher")


def read_metrics(root: Path | str, rev: str | None) -> dict[str, dict[str, float]]:
    """Numeric metrics at `rev` (None = workspace): file -> dotted key -> value."""
    from mlci.repo.revision import open_repo, read_snapshot

    with open_repo(root) as repo:
        snapshot = read_snapshot(repo, rev)
    return {
        file: {key: float(value) for key, value in values.items() if is_number(value)}
        for file, values in snapshot.metrics.items()
    }


def diff_metrics(root: Path | str, base: str | None, head: str | None, config: Config) -> list[MetricRow]:
    """Rows for every metric at `base` or `head` (None = workspace), read with one DVC Repo."""
    from mlci.repo.revision import open_repo, read_snapshot

    with open_repo(root) as repo:
        old = read_snapshot(repo, base)
        new = read_snapshot(repo, head)
    return rows_from_values(old.metrics, new.metrics, config)


def rows_from_values(
    base: Mapping[str, Mapping[str, object]],
    head: Mapping[str, Mapping[str, object]],
    config: Config | MetricsConfig,
) -> list[MetricRow]:
    """Compare two `file -> key -> value` mappings; files sorted, keys in head's order then removed ones."""
    settings = config.metrics if isinstance(config, Config) else config
    rows: list[MetricRow] = []
    for file in sorted(set(base) | set(head)):
        old, new = base.get(file, {}), head.get(file, {})
        keys = list(new) + [k for k in old if k not in new]
        for key in keys:
            rows.append(_row(file, key, old, new, direction_for(file, key, settings)))
    return rows


def _row(
    file: str, key: str, old: Mapping[str, object], new: Mapping[str, object], direction: Direction
) -> MetricRow:
    has_old, has_new = key in old, key in new
    a, b = old.get(key), new.get(key)
    base, head = _as_float(a), _as_float(b)
    change = change_pct = None
    if base is not None and head is not None:
        change = _finite(head - base) if not _same(base, head) else 0.0
        change_pct = _finite(change / abs(base) * 100) if change is not None and base != 0 else None
    if not has_old:
        status: Status = "added"
    elif not has_new:
        status = "removed"
    elif (change == 0.0) if change is not None else _same(a, b):
        status = "unchanged"
    else:
        status = "changed"
    return MetricRow(
        file=file,
        key=key,
        base=base,
        head=head,
        change=change,
        change_pct=change_pct,
        direction=direction,
        status=status,
        base_text=_text(a) if has_old and base is None else "",
        head_text=_text(b) if has_new and head is None else "",
    )


def direction_for(file: str, key: str, settings: MetricsConfig) -> Direction:
    """Config globs first (lower_is_better, then higher_is_better), then the built-in names."""
    names = (key, f"{file}:{key}")
    if any(fnmatch.fnmatchcase(n, g) for g in settings.lower_is_better for n in names):
        return "lower"
    if any(fnmatch.fnmatchcase(n, g) for g in settings.higher_is_better for n in names):
        return "higher"
    words = set(re.split(r"[^a-z0-9]+", key.lower()))
    if words & LOWER_WORDS or any(infix in key.lower() for infix in _LOWER_INFIXES):
        return "lower"
    return "higher"


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_float(value: object) -> float | None:
    return float(value) if is_number(value) else None  # type: ignore[arg-type]


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b) if isinstance(a, bool) or isinstance(b, bool) else a == b


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
