"""Plots declared in dvc.yaml, drawn base vs head as Mermaid charts GitHub renders in a comment.

Curves become `xychart-beta` lines. An xychart spaces a line's values evenly along the x-axis, so both
revisions are resampled (linear interpolation) onto one shared, evenly spaced grid of at most
`max_points` x values; that also keeps long curves (a loss per step) small. A confusion matrix becomes
a table of counts.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

CONFUSION_TEMPLATES = ("confusion", "confusion_normalized")
BASE_COLOUR, HEAD_COLOUR = "#9e9e9e", "#1f77b4"


@dataclass(frozen=True)
class Curve:
    x: list[float]
    y: list[float]


@dataclass(frozen=True)
class PlotView:
    id: str
    kind: Literal["line", "confusion", "skipped"]
    x_label: str = ""
    y_label: str = ""
    grid: list[float] = field(default_factory=list)  # line: shared x values
    base: list[float] | None = None  # line: y on the grid; None = absent at that revision
    head: list[float] | None = None
    labels: list[str] = field(default_factory=list)  # confusion: class labels
    base_matrix: list[list[int]] | None = None  # confusion: [actual][predicted]
    head_matrix: list[list[int]] | None = None
    points: tuple[int, int] = (0, 0)  # raw points at base and head
    note: str = ""  # why a plot was skipped

    @property
    def changed(self) -> bool:
        if self.kind == "line":
            return self.base != self.head
        return self.base_matrix != self.head_matrix


def plot_specs(shown: Mapping[str, Any]) -> dict[str, tuple[dict[str, Any], Any]]:
    """From one revision of DVC's `plots.show`: plot id -> (props, data rows)."""
    sources = shown.get("sources", {}).get("data", {})
    specs: dict[str, tuple[dict[str, Any], Any]] = {}
    for config in shown.get("definitions", {}).get("data", {}).values():
        for plot_id, props in (config.get("data") or {}).items():
            props = dict(props or {})
            files = _files_of(plot_id, props)
            if len(files) != 1 or files[0] not in sources:
                specs[plot_id] = (props, None)
                continue
            file = files[0]
            y = props.get("y")
            if isinstance(y, Mapping):
                props["y"] = y.get(file)
            specs[plot_id] = (props, _rows(sources[file].get("data")))
    return specs


def build_views(base: Mapping[str, Any], head: Mapping[str, Any], *, max_points: int = 60) -> list[PlotView]:
    """One view per plot id declared at either revision (DVC's `plots.show` result per revision)."""
    old, new = plot_specs(base), plot_specs(head)
    views: list[PlotView] = []
    for plot_id in list(new) + [p for p in old if p not in new]:
        props = (new.get(plot_id) or old[plot_id])[0]
        rows_old = old.get(plot_id, ({}, None))[1]
        rows_new = new.get(plot_id, ({}, None))[1]
        if rows_old is None and rows_new is None:
            views.append(PlotView(plot_id, "skipped", note="data not found or several files in one plot"))
        elif props.get("template") in CONFUSION_TEMPLATES:
            views.append(_confusion(plot_id, props, rows_old, rows_new))
        else:
            views.append(_line(plot_id, props, rows_old, rows_new, max_points))
    return views


def _files_of(plot_id: str, props: Mapping[str, Any]) -> list[str]:
    y = props.get("y")
    if isinstance(y, Mapping):
        return [str(f) for f in y]
    return [plot_id]


def _rows(data: Any) -> list[dict[str, Any]] | None:
    """DVC's plot data: a list of records, or a mapping whose first list holds them."""
    if isinstance(data, Mapping):
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list):
        return None
    return [row for row in data if isinstance(row, Mapping)]  # type: ignore[misc]


def _line(
    plot_id: str,
    props: Mapping[str, Any],
    rows_old: list[dict[str, Any]] | None,
    rows_new: list[dict[str, Any]] | None,
    max_points: int,
) -> PlotView:
    sample = (rows_new or rows_old or [{}])[0]
    x_prop, y_prop = props.get("x"), props.get("y")
    x_name = x_prop if isinstance(x_prop, str) else ""
    y_name = y_prop if isinstance(y_prop, str) else _last_key(sample, x_name)
    base = _curve(rows_old, x_name, y_name)
    head = _curve(rows_new, x_name, y_name)
    grid = _grid([c for c in (base, head) if c], max_points)
    if not grid or not y_name:
        return PlotView(plot_id, "skipped", note=f"no numeric '{y_name or 'y'}' values")
    return PlotView(
        plot_id,
        "line",
        x_label=x_name or "step",
        y_label=y_name,
        grid=grid,
        base=_interpolate(base, grid) if base else None,
        head=_interpolate(head, grid) if head else None,
        points=(len(base.x) if base else 0, len(head.x) if head else 0),
    )


def _last_key(sample: Mapping[str, Any], x_name: str) -> str:
    keys = [k for k, v in sample.items() if k != x_name and _number(v) is not None]
    return str(keys[-1]) if keys else ""


def _curve(rows: list[dict[str, Any]] | None, x_name: str, y_name: str) -> Curve | None:
    if rows is None:
        return None
    pairs: list[tuple[float, float]] = []
    for index, row in enumerate(rows):
        x = _number(row.get(x_name)) if x_name else float(index)
        y = _number(row.get(y_name))
        if x is not None and y is not None:
            pairs.append((x, y))
    pairs.sort(key=lambda p: p[0])  # stable: equal x (a ROC's vertical steps) keep their order
    return Curve([p[0] for p in pairs], [p[1] for p in pairs]) if pairs else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _grid(curves: Sequence[Curve], max_points: int) -> list[float]:
    """The curves' own x values when they share them and are few, else an even grid over their range."""
    if not curves:
        return []
    first = curves[0].x
    shared = all(c.x == first for c in curves) and len(set(first)) == len(first)
    if shared and len(first) <= max_points and _evenly_spaced(first):
        return list(first)
    low, high = min(c.x[0] for c in curves), max(c.x[-1] for c in curves)
    count = max(2, min(max_points, max(len(c.x) for c in curves)))
    if high == low:
        return [low]
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def _evenly_spaced(xs: Sequence[float]) -> bool:
    if len(xs) < 3:
        return True
    step = xs[1] - xs[0]
    return all(math.isclose(b - a, step, rel_tol=1e-6, abs_tol=1e-12) for a, b in itertools.pairwise(xs))


def _interpolate(curve: Curve, grid: Sequence[float]) -> list[float]:
    """y at each grid x; for equal x values (vertical steps) the last one wins, outside the range the ends."""
    xs, ys = curve.x, curve.y
    out: list[float] = []
    j = 0
    for x in grid:
        while j + 1 < len(xs) and xs[j + 1] <= x:
            j += 1
        if x <= xs[0] and not (xs[0] == x and j > 0):
            out.append(ys[0] if x < xs[0] else ys[j])
        elif j + 1 >= len(xs):
            out.append(ys[-1])
        else:
            x0, x1, y0, y1 = xs[j], xs[j + 1], ys[j], ys[j + 1]
            out.append(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    return out


def _confusion(
    plot_id: str,
    props: Mapping[str, Any],
    rows_old: list[dict[str, Any]] | None,
    rows_new: list[dict[str, Any]] | None,
) -> PlotView:
    actual, predicted = str(props.get("y", "actual")), str(props.get("x", "predicted"))
    counts = [
        Counter((str(r.get(actual)), str(r.get(predicted))) for r in rows) if rows is not None else None
        for rows in (rows_old, rows_new)
    ]
    labels = sorted({v for c in counts if c for pair in c for v in pair}, key=_label_key)
    matrices = [[[c[(a, p)] for p in labels] for a in labels] if c is not None else None for c in counts]
    return PlotView(
        plot_id,
        "confusion",
        x_label=predicted,
        y_label=actual,
        labels=labels,
        base_matrix=matrices[0],
        head_matrix=matrices[1],
        points=(len(rows_old or []), len(rows_new or [])),
    )


def _label_key(label: str) -> tuple[int, float, str]:
    number = _number(label)
    return (0, number, "") if number is not None else (1, 0.0, label)


# --- Mermaid --------------------------------------------------------------------------------------


def mermaid_line(view: PlotView) -> str:
    """An `xychart-beta` with the base line in grey and the head line in blue (xycharts have no
    legend: the report's caption under the chart names the revisions)."""
    lines = [f"%%{{init: {{'themeVariables': {{'xyChart': {{'plotColorPalette': '{_palette(view)}'}}}}}}}}%%"]
    lines += ["xychart-beta", f'  title "{_label(view.id)}"']
    grid = view.grid
    if len(grid) <= 20 and all(float(x).is_integer() for x in grid):
        lines.append(f'  x-axis "{_label(view.x_label)}" [{", ".join(str(int(x)) for x in grid)}]')
    else:
        lines.append(f'  x-axis "{_label(view.x_label)}" {_num(grid[0])} --> {_num(grid[-1])}')
    values = [v for series in (view.base, view.head) if series for v in series]
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
    lines.append(f'  y-axis "{_label(view.y_label)}" {_num(low - pad)} --> {_num(high + pad)}')
    for series in (view.base, view.head):
        if series:
            lines.append(f"  line [{', '.join(_num(v) for v in series)}]")
    return "\n".join(lines)


def _palette(view: PlotView) -> str:
    if view.base and view.head:
        return f"{BASE_COLOUR}, {HEAD_COLOUR}"
    return BASE_COLOUR if view.base else HEAD_COLOUR


def _label(text: str) -> str:
    """Mermaid-safe text: no quotes, brackets or newlines from a PR reach the chart source."""
    return re.sub(r"[^\w .,/:+=-]", "_", text)[:80]


def _num(value: float) -> str:
    text = f"{value:.4g}"
    return text if "e" not in text else f"{value:.6f}".rstrip("0").rstrip(".")
