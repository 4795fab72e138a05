"""The report's tables as GitHub markdown (tabulate): metrics, gates, param changes, data changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tabulate import tabulate

from mlci.gates import GateResult
from mlci.metrics import MetricRow
from mlci.render import fmt_number, fmt_pct, fmt_signed
from mlci.report.dataset_changes import DataRow, human_size
from mlci.report.params import ParamRow
from mlci.safety import md_code, md_escape


def visible_rows(
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


def several_files(rows: Sequence[MetricRow]) -> bool:
    return len({r.file for r in rows}) > 1


def metrics_table(
    rows: Sequence[MetricRow],
    gated: dict[tuple[str, str], GateResult],
    *,
    several_files: bool,
    head_label: str = "Head",
    gate_column: bool = True,
) -> str:
    """Metric, base, head (`head_label`), change, and the gate's verdict (without `gate_column`, none)."""
    if not rows:
        return ""
    body = [
        [
            md_escape(row.name if several_files else row.key or row.file)
            + (f" <sub>(moved from {md_code(row.moved_from)})</sub>" if row.moved_from else ""),
            _value(row.base, row.base_text),
            _value(row.head, row.head_text),
            _change(row),
            *([_gate_cell(gated.get((row.file, row.key)))] if gate_column else []),
        ]
        for row in rows
    ]
    header = ["Metric", "Base", head_label, "Change", *(["Gate"] if gate_column else [])]
    return tabulate(body, header, tablefmt="github", disable_numparse=True)


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
            # the file whenever the key alone could belong to another one: several files changed, or
            # a params file of another dvc.yaml than the project's own (`models/b/params.yaml`)
            md_escape(f"{r.file}:{r.key}" if several or r.file != "params.yaml" else r.key),
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
