"""The report as GitHub markdown: tables by tabulate, the page by the `report.md.j2` template.

A PR comment holds at most 65,536 characters. `render_markdown(limit=...)` first drops unchanged,
ungated metric rows (the full table stays in the job summary and the artifact), then caps the rows,
and says so in the comment.

Sections: `summary` (the lines above the tables), `tables`, `plots`; this module puts the page together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlci import __version__
from mlci.render import render
from mlci.report.document import Report
from mlci.report.markdown.experiments import experiments_context
from mlci.report.markdown.plots import confusion_table, plots_context
from mlci.report.markdown.summary import headline, mlflow_context, subline, unread_lines
from mlci.report.markdown.tables import (
    cell_code,
    data_table,
    gates_table,
    metrics_table,
    params_table,
    several_files,
    visible_rows,
)

__all__ = [
    "TEMPLATE",
    "cell_code",
    "confusion_table",
    "data_table",
    "gates_table",
    "headline",
    "metrics_table",
    "mlflow_context",
    "params_table",
    "plots_context",
    "render_markdown",
    "subline",
    "unread_lines",
]


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
        report,
        repo_root,
        run_url,
        rows_cap=None,
        compact=False,
        hint=full_report_hint,
        drawn=drawn,
        comment=limit is not None,
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
            comment=True,
        )
        if charts and len(text) > room and report.plots:
            charts = False  # the charts go before metric rows do: the job summary keeps them
            continue
        if len(text) <= room or (cap is not None and cap <= 5):
            return text
        # rows are most of the text: scale the cap by how far over the limit this form is
        shown = sum(len(visible_rows(s.rows, report.gates, True, cap)) for s in report.sections)
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
    comment: bool = False,
) -> str:
    gated = {(g.file, g.key): g for g in report.gates if g.file}
    sections: list[dict[str, Any]] = []
    hidden = 0
    for section in report.sections:
        rows = visible_rows(section.rows, report.gates, compact, rows_cap)
        hidden += len(section.rows) - len(rows)
        sections.append(
            {
                "model": section.model,
                "description": section.description,
                "table": metrics_table(rows, gated, several_files=several_files(section.rows)),
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
        mlflow=mlflow_context(report),
        gates_total=report.gate_count[1],
        failed_table=gates_table(report.failed_gates),
        gates_table=gates_table(report.gates),
        params_table=params_table(report.params),
        data_table=data_table(report.data),
        plots=plots_context(report, run_url, compact=compact, drawn=drawn, charts=charts),
        data_checks=report.data_checks.markdown if report.data_checks else "",
        experiments=_experiments(report, comment, hint),
        run_url=run_url,
        version=__version__,
    )


def _experiments(report: Report, comment: bool, hint: str) -> dict[str, Any] | None:
    """The leaderboard: top N rows in the comment (compact), all of them in the job summary."""
    board = report.experiments
    if board is None:
        return None
    return experiments_context(board, board.top if comment else None, board.columns, hint if comment else "")
