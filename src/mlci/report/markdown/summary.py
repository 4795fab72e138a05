"""The lines above the tables: the verdict (headline), base → head with the counts, unread metrics files."""

from __future__ import annotations

from urllib.parse import quote

from mlci.report.document import Report
from mlci.safety import md_code, md_escape


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


def mlflow_context(report: Report) -> dict[str, object] | None:
    """The MLflow block: the server and experiment, a link to each side's run, one warning per side
    without a run (all escaped); None without an `mlflow:` section."""
    runs = report.mlflow
    if runs is None:
        return None
    links = []
    for side in runs.sides:
        if side.run is not None:
            # the UI's address of a run: the server's URL and two ids MLflow made (no text from the PR)
            url = quote(side.run.url, safe=":/#?=&%")
            links.append(f"{side.revision} [{md_escape(side.run.name or side.run.run_id[:8])}]({url})")
        else:
            links.append(f"{side.revision}: no run")
    return {
        "server": md_code(runs.uri),
        "experiment": md_code(runs.experiment),
        "links": " · ".join(links),
        "warnings": [md_escape(line) for line in runs.warnings],
    }


def headline(report: Report) -> str:
    """The verdict line: what a reviewer needs from the notification preview alone."""
    title = md_escape(report.title)
    failed, total = report.gate_count
    parts = []
    if failed:
        parts.append(f"{failed} of {total} gate{'s' if total != 1 else ''} failed")
    if report.data_checks_failed:
        parts.append("data checks failed")
    if report.sweep_failed and report.experiments:
        n = len(report.experiments.failed_checks)
        parts.append(f"{n} gate{'s' if n != 1 else ''} on the experiments failed")
    if report.unread_head:
        n = len(report.unread_head)
        parts.append(f"{n} metrics file{'s' if n != 1 else ''} not read at head")
    if parts:
        return f"❌ {title}: {', '.join(parts)}"
    sweep_gated = bool(report.experiments and report.experiments.checks)
    if not total and report.data_checks is None and not sweep_gated:
        return f"ℹ️ {title}: no quality gates configured"
    passed = [f"all {total} gate{'s' if total != 1 else ''} passed"] if total else []
    if report.data_checks is not None:
        passed.append("data checks passed")
    if report.experiments and report.experiments.checks:
        passed.append("gates on the experiments passed")
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
