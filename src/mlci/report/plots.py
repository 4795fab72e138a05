"""Plots as DVC resolves them (`mlci.repo.plots`), drawn for a GitHub comment.

Curves become Mermaid `xychart-beta` charts. An xychart has one x-axis shared by all its lines, places
each line's values evenly along it, and draws no gaps and no scatter. So, to draw only what DVC resolved:

- a chart holds only series with the very same x values; the x-axis is categorical, labelled with those
  values, so each point sits at its own x label. Series whose x values differ (base vs head after the x
  values changed, a train and a test ROC with other thresholds) get charts of their own, never a shared
  resampled grid, which would invent points. When the x values are not evenly spaced numbers (a ROC's
  false-positive rate), the points are still evenly spaced: the caption says the axis is not to scale.
- a plot unchanged between the revisions is drawn once (head). A changed plot whose series all share
  their x values is one chart, head series in colours and base series in lighter shades; otherwise the
  head's charts come first, then the base's.
- long series are thinned to `max_points` points (evenly spaced, plus each line's lowest and highest
  point, so the shape stays) and the caption says so; the JSON report holds every point.

Confusion templates become a table of counts per data file, rows the definition's `y` values and columns
its `x` values, as DVC draws them. Image plots are one line each (file, size before → after), changed
when their content hash differs; nothing is hosted.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlci.repo.plots import PlotRevision, ResolvedPlot, Series

CONFUSION_TEMPLATES = ("confusion", "confusion_normalized")
# (colour, its name in the caption): head series, and base series in the lighter shade of the same hue
HEAD_COLOURS = [
    ("#1f77b4", "blue"),
    ("#ff7f0e", "orange"),
    ("#2ca02c", "green"),
    ("#d62728", "red"),
    ("#9467bd", "purple"),
    ("#8c564b", "brown"),
]
GREY = ("#9e9e9e", "grey")  # the base of a one-series plot
BASE_COLOURS = [
    ("#aec7e8", "light blue"),
    ("#ffbb78", "light orange"),
    ("#98df8a", "light green"),
    ("#ff9896", "light red"),
    ("#c5b0d5", "light purple"),
    ("#c49c94", "light brown"),
]


def kind_of(plot: ResolvedPlot) -> str:
    """ "image", "confusion" or "line" (the report's JSON `kind`)."""
    if plot.kind == "image":
        return "image"
    return "confusion" if plot.template in CONFUSION_TEMPLATES else "line"


@dataclass(frozen=True)
class Line:
    label: str  # "" when the chart has one series at this revision
    side: str  # "base" | "head"
    colour: str
    colour_name: str
    values: list[float]


@dataclass(frozen=True)
class Chart:
    """One xychart: lines over the same categorical x values."""

    title: str
    x_label: str
    y_label: str
    x: list[str]
    lines: list[Line]  # a line shorter than x covers its first x values
    total: int  # points per line before thinning
    to_scale: bool  # x values are evenly spaced numbers (or categories)


@dataclass(frozen=True)
class ConfusionTable:
    label: str  # the series' file, when the plot has several
    x_field: str
    y_field: str
    rows: list[str]  # y values
    columns: list[str]  # x values
    head: list[list[int]] | None
    base: list[list[int]] | None


@dataclass(frozen=True)
class PlotDrawing:
    charts: list[Chart] = field(default_factory=list)
    tables: list[ConfusionTable] = field(default_factory=list)


def series_labels(plot: ResolvedPlot) -> dict[tuple[str, str], str]:
    """`file: field` when a plot has several files and fields, else whichever varies ("" for one)."""
    keys = list(
        dict.fromkeys((s.file, s.y_field) for side in (plot.head, plot.base) if side for s in side.series)
    )
    files, fields = {k[0] for k in keys}, {k[1] for k in keys}
    prefix = _common_dir(files)
    labels = {}
    for file, y_field in keys:
        short = file[len(prefix) :] if prefix else file
        parts = ([short] if len(files) > 1 else []) + ([y_field] if len(fields) > 1 else [])
        labels[(file, y_field)] = ": ".join(parts)
    return labels


def _common_dir(files: set[str]) -> str:
    if len(files) < 2:
        return ""
    parts = [f.split("/")[:-1] for f in files]
    common: list[str] = []
    for names in zip(*parts, strict=False):
        if len(set(names)) != 1:
            break
        common.append(names[0])
    return "/".join(common) + "/" if common else ""


def draw(plot: ResolvedPlot, *, max_points: int = 60) -> PlotDrawing:
    """The charts or confusion tables of a vega plot (images are lines of text, see the markdown)."""
    if kind_of(plot) == "confusion":
        return PlotDrawing(tables=_confusion(plot))
    labels = series_labels(plot)
    base = plot.base.series if plot.base else []
    head = plot.head.series if plot.head else []
    if not plot.changed:
        base = []
    groups: list[list[tuple[str, Series]]] = []
    everything = [("head", s) for s in head] + [("base", s) for s in base]
    # longest first, so that a shorter run (fewer steps) joins the chart of a longer one
    for side, series in sorted(everything, key=lambda item: -len(item[1].x)):
        group = next((g for g in groups if g[0][1].x[: len(series.x)] == series.x), None)
        if group is None:
            groups.append([(side, series)])
        else:
            group.append((side, series))
    for group in groups:
        group.sort(key=lambda item: everything.index(item))  # head's lines first, in DVC's order
    groups.sort(key=lambda g: g[0][0] != "head")  # the head's charts first
    charts = [c for g in groups if (c := _chart(plot, g, labels, max_points))]
    return PlotDrawing(charts=charts)


def _chart(
    plot: ResolvedPlot, group: list[tuple[str, Series]], labels: dict[tuple[str, str], str], max_points: int
) -> Chart | None:
    xs = max((s.x for _, s in group), key=len)  # the others are prefixes of it
    columns = [_numbers(s.y) for _, s in group]
    # a line cannot have gaps: rows where a series has no number are left out (a shorter series ends early)
    if all(None not in c for c in columns):
        keep = list(range(len(xs)))
    else:
        keep = [i for i in range(len(xs)) if all(c[i] is not None for c in columns if i < len(c))]
    if not keep:
        return None
    total = len(keep)
    numbers = _numbers([xs[i] for i in keep])
    even = all(n is not None for n in numbers) and _evenly_spaced(numbers)  # type: ignore[arg-type]
    if even and total > max_points:
        # each line still ends at its final value (a DVCLive loss curve ends at the run's last loss)
        keep, even = _thin_even(keep, columns, max_points)
    else:
        keep = _thin(keep, columns, max_points)
    order = list(labels)  # a series keeps its hue in every chart of the plot
    lines = []
    for (side, s), column in zip(group, columns, strict=True):
        index = order.index((s.file, s.y_field)) % len(HEAD_COLOURS)
        if side == "head":
            colour, name = HEAD_COLOURS[index]
        else:
            colour, name = BASE_COLOURS[index] if len(order) > 1 else GREY
        values = [v for i in keep if i < len(column) and (v := column[i]) is not None]
        lines.append(Line(labels.get((s.file, s.y_field), ""), side, colour, name, values))
    return Chart(
        title=plot.title,
        x_label=plot.x_label or group[0][1].x_field,
        y_label=plot.y_label,
        x=[_x_text(xs[i]) for i in keep],
        lines=lines,
        total=total,
        to_scale=even or all(n is None for n in numbers),  # categories are "to scale" too
    )


def _thin_even(
    keep: list[int], columns: Sequence[Sequence[float | None]], max_points: int
) -> tuple[list[int], bool]:
    """Evenly spaced x thinned to about `max_points`: every k-th point with both ends kept (k divides the
    span when one near the target does), else every k-th counted back from the last plus the first (the
    axis is then not to scale). A shorter line's own last point is kept too. Returns (indices, to scale)."""
    total, target = len(keep), max(2, max_points)
    least = math.ceil((total - 1) / (target - 1))
    stride = next((k for k in range(least, 2 * least + 1) if (total - 1) % k == 0), 0)
    grid = set(keep[::stride]) if stride else set(keep[::-1][::least]) | {keep[0]}
    ends = {max((i for i in keep if i < len(c) and c[i] is not None), default=keep[-1]) for c in columns}
    return sorted(grid | ends), bool(stride) and ends <= grid


def _thin(keep: list[int], columns: Sequence[Sequence[float | None]], max_points: int) -> list[int]:
    """About `max_points` of the indices: evenly spaced, plus each line's lowest, highest and last."""
    if len(keep) <= max_points:
        return keep
    step = (len(keep) - 1) / (max(2, max_points) - 1)
    chosen = {keep[round(i * step)] for i in range(max(2, max_points))}
    for column in columns:
        values = [(column[i], i) for i in keep if i < len(column)]
        if values:  # its lowest, highest and last point (where a shorter line ends)
            chosen.update((min(values)[1], max(values)[1], values[-1][1]))  # type: ignore[type-var]
    return sorted(chosen)


def _evenly_spaced(xs: Sequence[float]) -> bool:
    if len(xs) < 3:
        return True
    step = xs[1] - xs[0]
    # rel_tol: plot files hold rounded values
    return all(math.isclose(b - a, step, rel_tol=0.01, abs_tol=1e-12) for a, b in itertools.pairwise(xs))


def _confusion(plot: ResolvedPlot) -> list[ConfusionTable]:
    labels = series_labels(plot)
    old = {s.file: s for s in (plot.base.series if plot.base else [])}
    new = {s.file: s for s in (plot.head.series if plot.head else [])}
    tables = []
    for file in list(new) + [f for f in old if f not in new]:
        counts = [
            Counter((str(y), str(x)) for x, y in zip(s.x, s.y, strict=True)) if s else None
            for s in (old.get(file), new.get(file))
        ]
        rows = sorted({r for c in counts if c for r, _ in c}, key=_label_key)
        columns = sorted({col for c in counts if c for _, col in c}, key=_label_key)
        base, head = (
            [[c[(r, col)] for col in columns] for r in rows] if c is not None else None for c in counts
        )
        series = new.get(file) or old[file]
        label = labels.get((file, series.y_field), "")
        tables.append(ConfusionTable(label, series.x_field, series.y_field, rows, columns, head, base))
    return tables


def _label_key(label: str) -> tuple[int, float, str]:
    number = _number(label)
    return (0, number, "") if number is not None else (1, 0.0, label)


def _numbers(values: Sequence[Any]) -> list[float | None]:
    """`_number` of each value; the common case (all finite numbers or numeric strings) in one pass."""
    try:
        floats = [float(v) for v in values]
    except (TypeError, ValueError):
        return [_number(v) for v in values]
    if all(map(math.isfinite, floats)) and bool not in set(map(type, values)):
        return floats  # type: ignore[return-value]
    return [_number(v) for v in values]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _x_text(value: Any) -> str:
    number = _number(value)
    return f"{number:.3g}" if number is not None else str(value)


def revision_points(side: PlotRevision | None) -> int:
    return side.points if side else 0


# --- Mermaid --------------------------------------------------------------------------------------


def mermaid_chart(chart: Chart) -> str:
    """An `xychart-beta` of one chart: categorical x, one line per series, colours as the caption says."""
    palette = ", ".join(line.colour for line in chart.lines)
    lines = [f"%%{{init: {{'themeVariables': {{'xyChart': {{'plotColorPalette': '{palette}'}}}}}}}}%%"]
    lines += ["xychart-beta", f'  title "{_label(chart.title)}"']
    numbers = [_number(x) for x in chart.x]
    full = all(len(line.values) == len(chart.x) for line in chart.lines)
    if full and len(numbers) > 2 and chart.to_scale and all(n is not None for n in numbers):
        # evenly spaced numbers under full lines: a numeric axis is exact and keeps the labels readable
        lines.append(f'  x-axis "{_label(chart.x_label)}" {chart.x[0]} --> {chart.x[-1]}')
    else:
        lines.append(f'  x-axis "{_label(chart.x_label)}" [{", ".join(_category(x) for x in chart.x)}]')
    values = [v for line in chart.lines for v in line.values]
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
    lines.append(f'  y-axis "{_label(chart.y_label)}" {_num(low - pad)} --> {_num(high + pad)}')
    for line in chart.lines:
        lines.append(f"  line [{', '.join(_num(v) for v in line.values)}]")
    return "\n".join(lines)


def _category(text: str) -> str:
    return f'"{_label(text)}"'


def _label(text: str) -> str:
    """Mermaid-safe text: no quotes, brackets or newlines from a PR reach the chart source."""
    return re.sub(r"[^\w .,/:+=-]", "_", text)[:80]


def _num(value: float) -> str:
    text = f"{value:.4g}"
    return text if "e" not in text else f"{value:.6f}".rstrip("0").rstrip(".")
