"""The plots section: each plot DVC resolved, drawn (mermaid chart, confusion table) or linked (image)."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from mlci.repo.plots import ResolvedPlot
from mlci.report.dataset_changes import human_size
from mlci.report.document import Report
from mlci.report.plots import Chart, ConfusionTable, draw, kind_of, mermaid_chart
from mlci.safety import md_code, md_escape, one_line


def plots_context(
    report: Report,
    run_url: str,
    *,
    compact: bool,
    drawn: dict[int, dict[str, Any]] | None = None,
    charts: bool = True,
) -> dict[str, Any]:
    """The plots section: drawn plots, and one-line lists of the unchanged images (always) and of the
    unchanged plots (in the comment-sized form; the job summary draws them). Without `charts` (a
    comment too long with them), plots keep their heading, error and image lines but no charts."""
    entries: list[dict[str, Any]] = []
    unchanged_images: list[str] = []
    unchanged: list[str] = []
    for plot in report.plots:
        quiet = not plot.changed and not _errors(plot)
        if quiet and kind_of(plot) == "image":
            unchanged_images.append(md_code(plot.id))
        elif quiet and compact:
            unchanged.append(md_code(plot.id))
        else:
            if drawn is None:
                drawn = {}
            if id(plot) not in drawn:
                drawn[id(plot)] = _plot(plot, report, run_url)
            entry = drawn[id(plot)]
            if not charts and entry["blocks"]:
                note = "<sub>chart left out to fit the comment: it is in the job summary</sub>"
                entry = {**entry, "blocks": [], "lines": [note, *entry["lines"]]}
            entries.append(entry)
    return {
        "entries": entries,
        "unchanged_images": ", ".join(unchanged_images),
        "unchanged": ", ".join(unchanged),
        "total": len(report.plots),
        "changed": sum(p.changed for p in report.plots),
    }


def _errors(plot: ResolvedPlot) -> bool:
    return any(side and side.errors for side in (plot.base, plot.head))


def _plot(plot: ResolvedPlot, report: Report, run_url: str) -> dict[str, Any]:
    heading = md_code(plot.id)
    if plot.title and plot.title != plot.id:
        heading += f" — {md_escape(plot.title)}"
    revs = {"base": md_code(report.base.short), "head": md_code(report.head.short)}
    blocks: list[dict[str, str]] = []
    lines: list[str] = []
    for side in ("base", "head"):
        if getattr(plot, side) is None:
            lines.append(f"<sub>not declared at {side} {revs[side]}</sub>")
    kind = kind_of(plot)
    if kind == "image":
        lines.append(_image_line(plot, run_url))
    else:
        drawing = draw(plot, max_points=report.max_plot_points)
        for chart in drawing.charts:
            blocks.append(
                {"mermaid": mermaid_chart(chart), "table": "", "caption": _chart_caption(chart, plot, revs)}
            )
        if (
            not drawing.charts
            and not drawing.tables
            and any(side and side.series for side in (plot.base, plot.head))
        ):
            lines.append("<sub>Not drawn: the y values are not numbers</sub>")
        for table in drawing.tables:
            blocks.append(
                {"mermaid": "", "table": confusion_table(table), "caption": _confusion_caption(table, plot)}
            )
    for side in ("base", "head"):
        resolved = getattr(plot, side)
        for error in resolved.errors if resolved else []:
            where = f"{md_code(error.source)}: " if error.source else ""
            text = md_escape(one_line(f"{error.type}: {error.message}", 300))
            lines.append(f"⚠️ DVC error at {side} {revs[side]}: {where}{text}")
    return {"heading": heading, "changed": plot.changed, "blocks": blocks, "lines": lines}


def _chart_caption(chart: Chart, plot: ResolvedPlot, revs: dict[str, str]) -> str:
    parts = []
    for line in chart.lines:
        side = f"{line.side} {revs[line.side]}"
        if not plot.changed:
            side = "base = head"
        parts.append(f"{line.colour_name}: {side}" + (f" {md_escape(line.label)}" if line.label else ""))
    text = " · ".join(parts)
    if len(chart.x) < chart.total:
        text += f" · {len(chart.x)} of {chart.total} points shown (all are in the JSON report)"
    if not chart.to_scale:
        text += " · x-axis not to scale: points evenly spaced"
    return text


def _confusion_caption(table: ConfusionTable, plot: ResolvedPlot) -> str:
    rows = md_escape(plot.y_label or table.y_field)
    columns = md_escape(plot.x_label or table.x_field)
    what = "counts at head (change vs base)" if table.head and table.base else "counts"
    if table.head is None:
        what = "counts at base (no data at head)"
    label = f"{md_escape(table.label)}: " if table.label else ""
    return f"{label}rows: {rows} ({md_code(table.y_field)}), columns: {columns} ({md_code(table.x_field)}); {what}"


def _image_line(plot: ResolvedPlot, run_url: str) -> str:
    old = plot.base.image if plot.base else None
    new = plot.head.image if plot.head else None
    file = (new or old).file if (new or old) else plot.id  # type: ignore[union-attr]
    sizes = f"{human_size(old.size) if old else '—'} → {human_size(new.size) if new else '—'}"
    state = "changed" if plot.changed else "unchanged"
    if old and not new:
        state = "no image at head"
    elif new and not old:
        state = "new"
    link = ""
    if run_url and new and plot.changed:
        link = f" · in the [run's](<{run_url}#artifacts>) `mlci-report` artifact"
    return f"🖼️ {md_code(file)}: {sizes}, {state}{link}"


def confusion_table(table: ConfusionTable) -> str:
    """Counts with rows = the definition's y values and columns = its x values, as DVC draws them."""
    head, base = table.head, table.base
    matrix = head or base or []
    body = []
    for i, label in enumerate(table.rows):
        cells = [f"**{md_escape(label)}**"]
        for j in range(len(table.columns)):
            value = matrix[i][j]
            if head and base and base[i][j] != head[i][j]:
                cells.append(f"{value} ({head[i][j] - base[i][j]:+d})")
            else:
                cells.append(str(value))
        body.append(cells)
    headers = [
        f"{md_escape(table.y_field)} ╲ {md_escape(table.x_field)}",
        *(md_escape(c) for c in table.columns),
    ]
    return tabulate(body, headers, tablefmt="github", disable_numparse=True)
