"""Metric values at two revisions, compared row by row, with the direction that counts as better.

Values come from DVC (see `mlci.repo.revision`), so keys are DVC's dotted keys and the numbers are the ones
`dvc metrics diff` shows. Booleans are diffed as 1 and 0 (`true → false` is -1), as DVC does; strings
are shown but not diffed.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from mlci.config import Config, MetricsConfig
from mlci.errors import MlciError

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
    base_text: str = ""  # the value as text when it is not a plain number (strings, booleans); "" otherwise
    head_text: str = ""
    moved_from: str = ""  # the base's file when the metric moved to another file in the PR

    @property
    def name(self) -> str:
        """`file:key` — the unambiguous name used in messages and gates."""
        return f"{self.file}:{self.key}" if self.key else self.file

    @property
    def better(self) -> bool | None:
        """True when the change goes the good way, False the bad way, None when no change or no diff."""
        if self.change is None or self.change == 0:
            return None
        return (self.change > 0) == (self.direction == "higher")


def read_metrics(root: Path | str, rev: str | None) -> dict[str, dict[str, float]]:
    """Numeric metrics at `rev` (None = workspace): file -> dotted key -> value."""
    return read_metrics_and_unread(root, rev)[0]


def read_metrics_and_unread(
    root: Path | str, rev: str | None, repo: Any = None
) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """`read_metrics`, and the declared metrics files it could not read with the reason for each;
    `repo`: an open DVC Repo to read with (else one is opened and closed here)."""
    metrics, snapshot = _read(root, rev, repo)
    return metrics, dict(snapshot.unread)


def read_metrics_and_failures(
    root: Path | str, rev: str | None
) -> tuple[dict[str, dict[str, float]], list[str], dict[str, MlciError]]:
    """`read_metrics`; the declared metrics files it could not read; and, for those a DVC remote kept
    back, the remote's error (a RemoteError with its fix)."""
    metrics, snapshot = _read(root, rev, None)
    return metrics, list(snapshot.unread), dict(snapshot.remote_failures)


def _read(root: Path | str, rev: str | None, repo: Any) -> tuple[dict[str, dict[str, float]], Any]:
    from mlci.repo.revision import open_repo, read_snapshot

    if repo is not None:
        snapshot = read_snapshot(repo, rev)
    else:
        with open_repo(root) as opened:
            snapshot = read_snapshot(opened, rev)
    metrics = {
        file: {key: number for key, value in values.items() if (number := _as_float(value)) is not None}
        for file, values in snapshot.metrics.items()
    }
    return metrics, snapshot


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
    *,
    declared_at_head: Collection[str] = (),
) -> list[MetricRow]:
    """Compare two `file -> key -> value` mappings; files sorted, keys in head's order then removed ones.

    A file gone at head whose keys all reappear in exactly one file new at head was moved (renamed):
    its rows compare the old file's values with the new file's, with `moved_from` set. Files in
    `declared_at_head` (declared there but unreadable) are never taken as moved.
    """
    settings = config.metrics if isinstance(config, Config) else config
    moves = moved_files(base, head, declared_at_head)
    rows: list[MetricRow] = []
    for file in sorted((set(base) | set(head)) - set(moves.values())):
        origin = moves.get(file, file)
        old, new = base.get(origin, {}), head.get(file, {})
        keys = list(new) + [k for k in old if k not in new]
        for key in keys:
            row = _row(file, key, old, new, direction_for(file, key, settings))
            rows.append(replace(row, moved_from=origin) if origin != file else row)
    return rows


def moved_files(
    base: Mapping[str, Mapping[str, object]],
    head: Mapping[str, Mapping[str, object]],
    keep: Collection[str] = (),
) -> dict[str, str]:
    """New file at head -> the base file it replaces: same non-empty set of keys, one candidate each way."""
    gone = [f for f in base if f not in head and f not in keep and base[f]]
    new = [f for f in head if f not in base]
    moves: dict[str, str] = {}
    for old in gone:
        same = [f for f in new if set(head[f]) == set(base[old])]
        if len(same) == 1 and same[0] not in moves:
            moves[same[0]] = old
    twice = {f for f in moves if [o for o in gone if set(base[o]) == set(head[f])] != [moves[f]]}
    return {f: o for f, o in moves.items() if f not in twice}


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
        base_text=_text(a) if has_old and (base is None or isinstance(a, bool)) else "",
        head_text=_text(b) if has_new and (head is None or isinstance(b, bool)) else "",
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


def _as_float(value: object) -> float | None:
    """The number DVC diffs: ints, floats and booleans (true = 1, false = 0)."""
    return float(value) if isinstance(value, (int, float)) else None


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
