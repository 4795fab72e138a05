"""Quality gates: bounds from `mlci.yaml` checked against metric rows.

A gate names metrics by DVC's dotted key (globs allowed, "file:key" pins a file) and bounds the head
value (min/max) or its change versus base (max_drop/max_rise absolute, *_pct relative). A gate that
matches no metric fails: a typo in a metric name must not pass silently.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mlci.config import Gate
from mlci.errors import MlciError
from mlci.metrics import MetricRow

_ABSOLUTE = ("min", "max")
_RELATIVE = ("max_drop", "max_rise", "max_drop_pct", "max_rise_pct")


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    file: str  # "" when the gate matched no metric
    key: str
    passed: bool
    value: float | None  # the head value checked
    reason: str  # one line a reviewer reads: what was checked, and what failed


def evaluate_gates(
    gates: Iterable[Gate],
    rows: Sequence[MetricRow],
    *,
    model: str = "",
    absolute_only: bool = False,
) -> list[GateResult]:
    """Check the gates of `model` ("" = gates without a model) against `rows`.

    absolute_only: only min/max on head values (deploy has no base); gates with only change bounds
    are skipped.
    """
    results: list[GateResult] = []
    for gate in gates:
        if gate.model != model:
            continue
        bounds = _bounds(gate, absolute_only)
        if not bounds:
            if not absolute_only:
                raise MlciError(
                    f"gate for '{gate.metric}' has no bound",
                    "give it at least one of min, max, max_drop, max_rise, max_drop_pct, max_rise_pct",
                )
            continue
        matched = [row for row in rows if matches(gate.metric, row)]
        if not matched:
            results.append(_unmatched(gate, rows))
            continue
        results.extend(_check(gate, row, bounds) for row in matched)
    return results


def matches(pattern: str, row: MetricRow) -> bool:
    """`key-glob` matches the dotted key in any file; `file-glob:key-glob` pins the file."""
    if ":" in pattern:
        file_glob, key_glob = pattern.split(":", 1)
        return fnmatch.fnmatchcase(row.file, file_glob) and fnmatch.fnmatchcase(row.key, key_glob)
    return fnmatch.fnmatchcase(row.key, pattern)


def _bounds(gate: Gate, absolute_only: bool) -> list[tuple[str, float]]:
    names = _ABSOLUTE if absolute_only else _ABSOLUTE + _RELATIVE
    return [(name, value) for name in names if (value := getattr(gate, name)) is not None]


def _unmatched(gate: Gate, rows: Sequence[MetricRow]) -> GateResult:
    keys = sorted({row.key for row in rows} | {row.name for row in rows})
    close = difflib.get_close_matches(gate.metric, keys, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else "" if keys else "; there are no metrics"
    where = f" of model '{gate.model}'" if gate.model else ""
    return GateResult(
        gate=gate,
        file="",
        key=gate.metric,
        passed=False,
        value=None,
        reason=f"no metric{where} matches '{gate.metric}'{hint}",
    )


def _check(gate: Gate, row: MetricRow, bounds: list[tuple[str, float]]) -> GateResult:
    value = row.head
    failures: list[str] = []
    checks: list[str] = []
    if value is None or math.isnan(value):
        what = "is not a number" if value is not None or row.head_text else "is missing"
        failures.append(f"head value {what}")
    else:
        for name, limit in bounds:
            ok, text = _one(name, limit, value, row)
            (checks if ok else failures).append(text)
    return GateResult(
        gate=gate,
        file=row.file,
        key=row.key,
        passed=not failures,
        value=value,
        reason="; ".join(failures or checks),
    )


def _one(name: str, limit: float, value: float, row: MetricRow) -> tuple[bool, str]:
    """One bound: (passed, text)."""
    if name == "min":
        return value >= limit, f"{_n(value)} {'≥' if value >= limit else '<'} min {_n(limit)}"
    if name == "max":
        return value <= limit, f"{_n(value)} {'≤' if value <= limit else '>'} max {_n(limit)}"
    if row.base is None or math.isnan(row.base):
        return True, f"{name}: no base value to compare"
    drop, rise = row.base - value, value - row.base
    if name in ("max_drop", "max_rise"):
        amount = drop if name == "max_drop" else rise
        word = "drop" if name == "max_drop" else "rise"
        ok = amount <= limit
        return ok, f"{word} {_n(max(amount, 0.0))} {'≤' if ok else '>'} {name} {_n(limit)}"
    amount = drop if name == "max_drop_pct" else rise
    word = "drop" if name == "max_drop_pct" else "rise"
    if row.base == 0:
        ok = amount <= 0  # any move away from 0 is an infinite relative change
        return ok, f"{word} from 0 {'allowed' if ok else 'exceeds'} {name} {_n(limit)}%"
    pct = amount / abs(row.base) * 100
    ok = pct <= limit
    return ok, f"{word} {_n(max(pct, 0.0))}% {'≤' if ok else '>'} {name} {_n(limit)}%"


def _n(value: float) -> str:
    return f"{value:.4g}"
