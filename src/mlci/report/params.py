"""Params at two revisions: which changed, as `dvc params diff` shows them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ParamStatus = Literal["changed", "added", "removed"]


@dataclass(frozen=True)
class ParamRow:
    file: str
    key: str  # DVC's dotted key
    base: Any  # None when absent at base
    head: Any
    status: ParamStatus


def diff_params(
    base: Mapping[str, Mapping[str, Any]], head: Mapping[str, Mapping[str, Any]]
) -> list[ParamRow]:
    """Changed, added and removed params (unchanged ones are left out, like DVC), files sorted."""
    rows: list[ParamRow] = []
    for file in sorted(set(base) | set(head)):
        old, new = base.get(file, {}), head.get(file, {})
        for key in list(new) + [k for k in old if k not in new]:
            if key not in old:
                rows.append(ParamRow(file, key, None, new[key], "added"))
            elif key not in new:
                rows.append(ParamRow(file, key, old[key], None, "removed"))
            elif not _same(old[key], new[key]):
                rows.append(ParamRow(file, key, old[key], new[key], "changed"))
    return rows


def _same(a: Any, b: Any) -> bool:
    """DVC's rule: equal values are no change, whatever their YAML type (`1 → 1.0`, `1 → true`);
    lists compare as DVC prints them (`[1, 2]` and `[1.0, 2]` differ)."""
    if isinstance(a, list) or isinstance(b, list):
        return str(a) == str(b)
    return bool(a == b)
