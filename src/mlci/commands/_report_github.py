"""`mlci report`'s GitHub side: the sticky PR comment and the check run, and one warning when GitHub
failed to take them (the gates still decide the exit code). A helper of commands/report.py, not a verb."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import click

from mlci.github.comments import report_marker, upsert
from mlci.safety import one_line

if TYPE_CHECKING:
    from mlci.commands.context import RunContext
    from mlci.github.client import GitHubClient
    from mlci.report.document import Report

REPORTS_DIR = ".mlci/reports"  # what the fork-safe workflow uploads as an artifact


@dataclass(frozen=True)
class Unposted:
    """What GitHub failed to take after the client's retries: the PR comment or the check run."""

    kind: Literal["comment", "check run"]
    why: str  # e.g. "the PR comment could not be posted (HTTP 502 ...)"


def safe_id(report_id: str) -> str:
    """The report id, checked to be safe as a file name and comment marker."""
    from mlci.report.fork import check_report_id

    return check_report_id(report_id)


def publish_comment(ctx: RunContext, report: Report, body: str) -> list[Unposted]:
    """One sticky comment per PR and report id; a fork's read-only token gets one warning instead.
    Returns what failed when GitHub did (for one warning, `_warn_github_failed`)."""
    from mlci.github.errors import GitHubError, PermissionDenied

    number = report.pr_number
    if number is None:
        return []
    marker = report_marker(safe_id(report.id))
    if ctx.runtime.is_fork:
        upsert(_outbox(ctx), number, body, marker, head_sha=report.head.sha or None)
        _warn_no_comment(ctx, "this pull request comes from a fork, whose token cannot comment")
        return []
    try:
        result = upsert(ctx.github(), number, body, marker, head_sha=report.head.sha or None)
    except PermissionDenied:
        upsert(_outbox(ctx), number, body, marker, head_sha=report.head.sha or None)
        _warn_no_comment(ctx, "the token may not write pull-request comments")
        return []
    except GitHubError as exc:
        # GitHub failing after the client's retries must not turn a passing model red: outbox, warn, go on
        upsert(_outbox(ctx), number, body, marker, head_sha=report.head.sha or None)
        return [Unposted("comment", f"the PR comment could not be posted ({one_line(exc.message, 300)})")]
    click.echo(f"report comment {result.action}: {result.url}", err=True)
    return []


def warn_github_failed(ctx: RunContext, failures: list[Unposted]) -> None:
    if not failures:
        return
    commented = failures[0].kind == "comment"
    ctx.actions.annotate(
        "warning",
        f"mlci report: {'; '.join(f.why for f in failures)}. The report is in the job summary and the outbox "
        f"({one_line(ctx.config.github.outbox)}); the job's exit code still reflects the gates. "
        "Re-run the job to post it.",
        title="mlci report not posted" if commented else "mlci check run not created",
    )


def _outbox(ctx: RunContext) -> GitHubClient:
    from mlci.github.outbox import Outbox
    from mlci.safety import repo_path

    folder = repo_path(ctx.root, ctx.config.github.outbox, "github.outbox in mlci.yaml")
    return Outbox(folder, ctx.runtime.repository or "local/repo")


def _warn_no_comment(ctx: RunContext, why: str) -> None:
    ctx.actions.annotate(
        "warning",
        f"mlci report: no PR comment was posted because {why}. The report is in the job summary and "
        f"{REPORTS_DIR}/. To comment on fork PRs, upload it with the report workflow and post it "
        "from a `workflow_run` workflow (report-post.yml, see docs/report.md); for your own branches "
        "grant `permissions: pull-requests: write`.",
        title="mlci report not posted",
    )


def publish_check_run(ctx: RunContext, report: Report, body: str) -> list[Unposted]:
    """The check run; returns what failed when GitHub did (see publish_comment)."""
    from mlci.github.errors import GitHubError, PermissionDenied
    from mlci.report.markdown import headline

    if ctx.runtime.is_fork:
        return []  # a fork's token cannot write checks; the exit code carries the verdict
    name = "mlci report" if report.id == "default" else f"mlci report ({report.id})"
    annotations = [
        {
            "path": g.file or (ctx.config.source or "mlci.yaml"),
            "start_line": 1,
            "end_line": 1,
            "annotation_level": "failure",
            "title": one_line(f"gate {g.gate.metric}", 200),
            "message": one_line(g.reason, 1000),
        }
        for g in report.failed_gates
    ]
    try:
        ctx.github().create_check_run(
            name,
            report.head.sha,
            status="completed",
            conclusion="success" if report.gates_passed else "failure",
            title=headline(report).split(" ", 1)[1],
            summary=body,
            annotations=annotations,
            details_url=ctx.runtime.run_url or None,
        )
    except PermissionDenied:
        ctx.actions.annotate(
            "warning",
            "mlci report: no check run was created: the token may not write checks "
            "(grant `permissions: checks: write`); the job's exit code still reflects the gates.",
            title="mlci check run not created",
        )
    except GitHubError as exc:
        # as for the comment: GitHub failing after the client's retries must not turn a passing model red
        return [Unposted("check run", f"no check run was created ({one_line(exc.message, 300)})")]
    return []
