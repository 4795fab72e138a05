"""The report as GitHub markdown: tables by tabulate, the page by the `report.md.j2` template.

A PR comment holds at most 65,536 characters. `render_markdown(limit=...)` first drops unchanged,
ungated metric rows (the full table stays in the job summary and the artifact), then caps the rows,
and says so in the comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from mlci import __version__
from mlci.gates import GateResult
from mlci.metrics import MetricRow
from mlci.render import fmt_number, fmt_pct, fmt_signed, render
from mlci.repo.plots import ResolvedPlot
from mlci.report.dataset_changes import DataRow, human_size
from mlci.report.document import Report
from mlci.report.params import ParamRow
from mlci.report.plots import Chart, ConfusionTable, draw, kind_of, mermaid_chart
from mlci.safety import md_code, md_escape, one_line

TEMPLATE = "report.md.j2"

_ROOM = 600  # kept free for the marker and the client's truncation note


def render_markdown(
    report: Report,
    *,
    repo_root: Path | str = "",
    limit: int | None = None,
    run_url: str = "",
    full_report_hint: str = "",
) -> str:
    """The report; with `limit`, the largest form of it that fits."""
    drawn: dict[int, dict[str, Any]] = {}  # each plot is drawn once, whichever forms are rendered
    text = _render(
        report, repo_root, run_url, rows_cap=None, compact=False, hint=full_report_hint, drawn=drawn
    )
    room = limit - _ROOM if limit is not None else 0
    if limit is None or len(text) <= room:
        return text
    cap: int | None = None
    charts = True
    while True:
        text = _render(
            report,
            repo_root,
            run_url,
            rows_cap=cap,
            compact=True,
            hint=full_report_hint,
            drawn=drawn,
            charts=charts,
        )
        if charts and len(text) > room and report.plots:
            charts = False  # the charts go before metric rows do: the job summary keeps them
            continue
        if len(text) <= room or (cap is not None and cap <= 5):
            return text
        # rows are most of the text: scale the cap by how far over the limit this form is
        shown = sum(len(_visible(s.rows, report.gates, True, cap)) for s in report.sections)
        cap = max(5, min(shown - 1, int(shown * room / len(text) * 0.97)))


def _render(
    report: Report,
    repo_root: Path | str,
    run_url: str,
    *,
    rows_cap: int | None,
    compact: bool,
    hint: str,
    drawn: dict[int, dict[str, Any]] | None = None,
    charts: bool = True,
) -> str:
    gated = {(g.file, g.key): g for g in report.gates if g.file}
    sections: list[dict[str, Any]] = []
    hidden = 0
    for section in report.sections:
        rows = _visible(section.rows, report.gates, compact, rows_cap)
        hidden += len(section.rows) - len(rows)
        sections.append(
            {
                "model": section.model,
                "description": section.description,
                "table": metrics_table(rows, gated, several_files=_several_files(section.rows)),
                "rows": rows,
                "total": len(section.rows),
                "changed": sum(r.status != "unchanged" for r in section.rows),
            }
        )
    return render(
        TEMPLATE,
        repo_root=repo_root,
        report=report,
        headline=headline(report),
        subline=subline(report),
        sections=sections,
        hidden_rows=hidden,
        full_report_hint=hint,
        unread=unread_lines(report),
        gates_total=report.gate_count[1],
        failed_table=gates_table(report.failed_gates),
        gates_table=gates_table(report.gates),
        params_table=params_table(report.params),
        data_table=data_table(report.data),
        plots=plots_context(report, run_url, compact=compact, drawn=drawn, charts=charts),
        data_checks=report.data_checks.markdown if report.data_checks else "",
        run_url=run_url,
        version=__version__,
    )


def unread_lines(report: Report) -> list[str]:
    """One escaped line per declared metrics file that could not be read, head first."""
    return [
        f"{md_code(file)} at {side} ({md_code(rev.short)}): {md_escape(why)}"
        for side, rev, unread in (
            ("head", report.head, report.unread_head),
            ("base", report.base, report.unread_base),
        )
        for file, why in unread.items()
    ]


def headline(report: Report) -> str:
    """The verdict line: what a reviewer needs from the notification preview alone."""
    title = md_escape(report.title)
    failed, total = report.gate_count
    parts = []
    if failed:
        parts.append(f"{failed} of {total} gate{'s' if total != 1 else ''} failed")
    if report.data_checks_failed:
        parts.append("data checks failed")
    if report.unread_head:
        n = len(report.unread_head)
        parts.append(f"{n} metrics file{'s' if n != 1 else ''} not read at head")
    if parts:
        return f"❌ {title}: {', '.join(parts)}"
    if not total and report.data_checks is None:
        return f"ℹ️ {title}: no quality gates configured"
    passed = [f"all {total} gate{'s' if total != 1 else ''} passed"] if total else []
    if report.data_checks is not None:
        passed.append("data checks passed")
    return f"✅ {title}: {', '.join(passed)}"


def subline(report: Report) -> str:
    """base → head and the counts, on one line (GitHub comments keep line breaks)."""
    base = md_code(report.base.short)
    if report.base.rev and not report.base.sha.startswith(report.base.rev):  # a name, not a SHA
        base += f" ({md_escape(report.base.rev)})"
    head = md_code(report.head.short)
    changed = sum(r.status != "unchanged" for r in report.rows)
    parts = [
        f"{base} → {head}",
        f"{len(report.rows)} metrics, {changed} changed",
        _count(len(report.params), "param change"),
        _count(len(report.data), "data change"),
    ]
    return " · ".join(parts)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _visible(
    rows: Sequence[MetricRow], gates: Sequence[GateResult], compact: bool, cap: int | None = None
) -> list[MetricRow]:
    """All rows; compact: changed or gated rows; capped: failed-gate rows, gated rows, then the
    biggest relative changes first."""
    if not compact:
        return list(rows)
    verdicts = {(g.file, g.key): g.passed for g in gates if g.file}
    shown = [r for r in rows if r.status != "unchanged" or (r.file, r.key) in verdicts]
    if cap is None or len(shown) <= cap:
        return shown

    def priority(row: MetricRow) -> tuple[int, float]:
        verdict = verdicts.get((row.file, row.key))
        rank = 0 if verdict is False else 1 if verdict else 2 if row.status != "changed" else 3
        return rank, -abs(row.change_pct if row.change_pct is not None else row.change or 0.0)

    return sorted(shown, key=priority)[:cap]


def _several_files(rows: Sequence[MetricRow]) -> bool:
    return len({r.file for r in rows}) > 1


def metrics_table(
    rows: Sequence[MetricRow], gated: dict[tuple[str, str], GateResult], *, several_files: bool
) -> str:
    if not rows:
        return ""
    body = [
        [
            md_escape(row.name if several_files else row.key or row.file)
            + (f" <sub>(moved from {md_code(row.moved_from)})</sub>" if row.moved_from else ""),
            _value(row.base, row.base_text),
            _value(row.head, row.head_text),
            _change(row),
            _gate_cell(gated.get((row.file, row.key))),
        ]
        for row in rows
    ]
    return tabulate(
        body, ["Metric", "Base", "Head", "Change", "Gate"], tablefmt="github", disable_numparse=True
    )


def _value(number: float | None, text: str) -> str:
    if text:  # strings and booleans show as written
        return md_escape(text)
    return "—" if number is None else fmt_number(number)


def _change(row: MetricRow) -> str:
    if row.status == "added":
        return "🆕 added"
    if row.status == "removed":
        return "removed"
    if row.change is None:
        return "changed" if row.status == "changed" else ""
    if row.change == 0:
        return "="
    arrow = "▲" if row.change > 0 else "▼"
    pct = f" ({fmt_pct(row.change_pct)})" if row.change_pct is not None else ""
    if _below_shown_precision(row):
        return f"{arrow} {fmt_signed(row.change)}{pct}"  # too small to call better or worse
    mark = "🟢" if row.better else "🔴"
    return f"{mark} {arrow} {fmt_signed(row.change)}{pct}"


def _below_shown_precision(row: MetricRow) -> bool:
    """The change does not show in the printed values, or its percentage rounds to 0.0%."""
    if row.base is None or row.head is None:
        return False
    if fmt_number(row.base) == fmt_number(row.head):
        return True
    return row.change_pct is not None and fmt_pct(row.change_pct) in ("+0.0%", "-0.0%")


def _gate_cell(result: GateResult | None) -> str:
    if result is None:
        return ""
    return "✅" if result.passed else f"❌ {md_escape(result.reason)}"


def gates_table(results: Sequence[GateResult]) -> str:
    if not results:
        return ""
    body = [
        [
            "✅" if g.passed else "❌",
            cell_code(g.gate.metric) + (f" ({md_escape(g.gate.model)})" if g.gate.model else ""),
            md_escape(f"{g.file}:{g.key}") if g.file else "—",
            fmt_number(g.value),
            md_escape(g.reason),
        ]
        for g in results
    ]
    return tabulate(body, ["", "Gate", "Metric", "Head", "Result"], tablefmt="github", disable_numparse=True)


def params_table(rows: Sequence[ParamRow]) -> str:
    if not rows:
        return ""
    several = len({r.file for r in rows}) > 1
    body = [
        [
            md_escape(f"{r.file}:{r.key}" if several else r.key),
            _param(r.base) if r.status != "added" else "—",
            _param(r.head) if r.status != "removed" else "—",
        ]
        for r in rows
    ]
    return tabulate(body, ["Param", "Base", "Head"], tablefmt="github", disable_numparse=True)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return fmt_number(value, 6)
    return cell_code(value)


def cell_code(value: object) -> str:
    """Inline code inside a table cell: GitHub splits cells at a `|` even within code, unless escaped."""
    return md_code(value).replace("|", "\\|")


def data_table(rows: Sequence[DataRow]) -> str:
    if not rows:
        return ""
    body = []
    for r in rows:
        size = f"{human_size(r.base_size)} → {human_size(r.head_size)}"
        if r.size_change:
            size += f" ({human_size(r.size_change, signed=True)})"
        files = ""
        if r.base_files is not None or r.head_files is not None:
            files = f"{r.base_files or 0:,} → {r.head_files or 0:,}"
        md5 = f"{cell_code(r.base_md5[:8] or '—')} → {cell_code(r.head_md5[:8] or '—')}"
        body.append([cell_code(r.path), r.status, size, files, md5])
    return tabulate(
        body, ["Path", "Change", "Size", "Files", "md5"], tablefmt="github", disable_numparse=True
    )


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
