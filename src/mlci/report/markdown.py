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
from mlci.report.dataset_changes import DataRow, human_size
from mlci.report.document import Report
from mlci.report.params import ParamRow
from mlci.report.plots import PlotView, mermaid_line
from mlci.safety import md_code, md_escape

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
    text = _render(report, repo_root, run_url, rows_cap=None, compact=False, hint=full_report_hint)
    room = limit - _ROOM if limit is not None else 0
    if limit is None or len(text) <= room:
        return text
    cap: int | None = None
    while True:
        text = _render(report, repo_root, run_url, rows_cap=cap, compact=True, hint=full_report_hint)
        if len(text) <= room or (cap is not None and cap <= 5):
            return text
        # rows are most of the text: scale the cap by how far over the limit this form is
        shown = sum(len(_visible(s.rows, report.gates, True, cap)) for s in report.sections)
        cap = max(5, min(shown - 1, int(shown * room / len(text) * 0.97)))


def _render(
    report: Report, repo_root: Path | str, run_url: str, *, rows_cap: int | None, compact: bool, hint: str
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
        plots=[_plot(p, report) for p in report.plots],
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


def _plot(view: PlotView, report: Report) -> dict[str, Any]:
    plot: dict[str, Any] = {"id": md_code(view.id), "kind": view.kind, "changed": view.changed, "note": ""}
    if view.kind == "line":
        plot["mermaid"] = mermaid_line(view)
        sides = []
        if view.base:
            sides.append(f"grey: base {md_code(report.base.short)}")
        if view.head:
            sides.append(f"blue: head {md_code(report.head.short)}")
        plot["caption"] = " · ".join(sides) + f" · {len(view.grid)} points"
    elif view.kind == "confusion":
        plot["table"] = confusion_table(view)
        plot["caption"] = (
            f"rows: {md_escape(view.y_label)}, columns: {md_escape(view.x_label)}; head (change vs base)"
        )
    else:
        plot["note"] = md_escape(view.note)
    return plot


def confusion_table(view: PlotView) -> str:
    head, base = view.head_matrix, view.base_matrix
    matrix = head or base or []
    body = []
    for i, label in enumerate(view.labels):
        cells = [f"**{md_escape(label)}**"]
        for j in range(len(view.labels)):
            value = matrix[i][j]
            if head and base and base[i][j] != head[i][j]:
                cells.append(f"{value} ({head[i][j] - base[i][j]:+d})")
            else:
                cells.append(str(value))
        body.append(cells)
    headers = ["actual ╲ predicted", *(md_escape(label) for label in view.labels)]
    return tabulate(body, headers, tablefmt="github", disable_numparse=True)
