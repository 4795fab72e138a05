"""`mlci report`: metrics, params, data and plots of head vs base, gated, posted once per PR."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from mlci.commands._report_github import (
    REPORTS_DIR,
    Unposted,
    publish_check_run,
    publish_comment,
    safe_id,
    warn_github_failed,
)
from mlci.errors import GateFailed, MlciError
from mlci.fsutil import write_bytes_atomic, write_output_atomic
from mlci.safety import one_line

if TYPE_CHECKING:
    from mlci.commands.context import RunContext
    from mlci.report.document import DataChecks, Report, Revision
    from mlci.report.mlflow_runs import MlflowRuns

Format = Literal["markdown", "json"]


@dataclass(frozen=True)
class ReportOptions:
    """`mlci report [--base REV] [--head REV] [--format markdown|json] [--output FILE] [--no-comment]`."""

    base: str | None = None
    head: str | None = None
    format: Format = "markdown"
    output: str | None = None
    comment: bool = True


def run(ctx: RunContext, options: ReportOptions) -> int:
    """Build, write and publish the report: 0, or GateFailed (exit 1) when a gate or check failed."""
    from mlci.report.document import to_json
    from mlci.report.markdown import render_markdown

    report, head_plots = _build(ctx, options)
    full = render_markdown(report, repo_root=ctx.root, run_url=ctx.runtime.run_url)
    document = to_json(report)
    text = json.dumps(document, indent=2) + "\n" if options.format == "json" else full
    report_file = _write_outputs(ctx, options, text, full, document)
    _write_images(ctx, report, head_plots)
    ctx.actions.append_summary(full)
    _publish(ctx, options, report)
    _annotate_failures(ctx, report)
    ctx.actions.set_output("gates-passed", "true" if report.gates_passed else "false")
    ctx.actions.set_output("report-file", report_file)
    _raise_on_failure(report)
    return 0


def _build(ctx: RunContext, options: ReportOptions) -> tuple[Report, Mapping[str, Any]]:
    """The report of head vs base (one DVC `Repo` for both revisions) and head's plot data."""
    from mlci.commands._report_experiments import leaderboard
    from mlci.gcpause import gc_paused
    from mlci.repo.revision import open_repo, read_snapshot
    from mlci.report.document import build_report

    base, head = resolve_revisions(ctx, options)
    # a group header only in Actions: locally stdout is the report itself (pipeable JSON)
    group = (
        ctx.actions.group(f"mlci report: {base.short} → {head.short}")
        if ctx.runtime.in_actions
        else nullcontext()
    )
    # loading DVC and its index of each revision: many long-lived objects, no garbage (mlci.gcpause)
    with group, gc_paused(), open_repo(ctx.root) as repo:
        plots = ctx.config.report.plots
        old = read_snapshot(repo, base.sha or None, plots=plots)
        new = read_snapshot(repo, head.sha or None, plots=plots)
        board = leaderboard(ctx, repo, (base, head), (old, new))
    runs = _mlflow_runs(ctx, base, head)
    if runs is not None:
        from mlci.report.mlflow_runs import with_run

        shown = ctx.config.mlflow.params if ctx.config.mlflow else False
        old, new = with_run(old, runs.base, params=shown), with_run(new, runs.head, params=shown)
    report = build_report(
        ctx.config,
        base,
        head,
        old,
        new,
        pr_number=ctx.runtime.pr_number,
        data_checks=_data_checks(ctx, base, head),
        mlflow=runs,
        experiments=board,
    )
    return report, new.plots


def _mlflow_runs(ctx: RunContext, base: Revision, head: Revision) -> MlflowRuns | None:
    """Base's and head's MLflow runs when mlci.yaml has an `mlflow:` section; a side without one is a
    warning annotation here and in the report, never a silent row."""
    if ctx.config.mlflow is None:
        return None
    from mlci.report.mlflow_runs import read_runs

    runs = read_runs(ctx.config.mlflow, base.sha, head.sha)
    for line in runs.warnings:
        ctx.actions.annotate("warning", one_line(f"MLflow: {line}", 500), title="mlci report")
    return runs


def _publish(ctx: RunContext, options: ReportOptions, report: Report) -> None:
    """The sticky comment (and the fork-safe bundle) on a PR, the check run in Actions."""
    from mlci.github.limits import COMMENT_LIMIT
    from mlci.report.markdown import render_markdown

    check_run = bool((report.gates or report.data_checks) and ctx.config.report.check_run and report.head.sha)
    check_run = check_run and ctx.runtime.in_actions
    if report.pr_number is None and not check_run:  # only these need the comment-sized body
        return
    hint = "; the full table is in the job summary" if ctx.runtime.in_actions else ""
    body = render_markdown(
        report, repo_root=ctx.root, limit=COMMENT_LIMIT, run_url=ctx.runtime.run_url, full_report_hint=hint
    )
    failures: list[Unposted] = []  # GitHub failing: one warning for all, the gates still decide the exit
    if report.pr_number is not None:
        _write_post_bundle(ctx, report, body)
        if options.comment and ctx.config.report.comment:
            failures += publish_comment(ctx, report, body)
    if check_run:
        failures += publish_check_run(ctx, report, body)
    warn_github_failed(ctx, failures)


def _raise_on_failure(report: Report) -> None:
    """GateFailed (exit 1) for unread head metrics, failed gates or failed data checks, in that order."""
    if report.unread_head:
        files = ", ".join(f"{file} ({why})" for file, why in report.unread_head.items())
        raise GateFailed(
            f"metrics declared in dvc.yaml could not be read at head: {one_line(files, 600)}",
            "each file's reason says what to do: run the pipeline so it writes them and `dvc push` "
            "DVC-cached outputs, fix the DVC remote's address or access, or remove the file from dvc.yaml",
        )
    if report.failed_gates:
        failed, total = report.gate_count
        raise GateFailed(
            f"{failed} of {total} quality gate{'s' if total != 1 else ''} failed",
            "see the report's 'Failed gates' table; fix the model or change the gates in mlci.yaml",
        )
    if report.experiments and report.experiments.failed_checks:
        reasons = "; ".join(f"{c.name}: {c.reason}" for c in report.experiments.failed_checks)
        raise GateFailed(
            f"the gates on the PR's experiments failed: {one_line(reasons, 600)}",
            "see the report's 'Experiments' section; run and `dvc exp push` the experiments, or change "
            "report.experiments in mlci.yaml",
        )
    if report.data_checks_failed:
        raise GateFailed(
            "the data checks failed",
            "see the report's 'Data checks' section; fix the data or its contract (docs/datacheck.md)",
        )


# --- revisions ----------------------------------------------------------------------------------


def resolve_revisions(ctx: RunContext, options: ReportOptions) -> tuple[Revision, Revision]:
    """Base and head commits: options, else the PR's from the payload, else default branch vs workspace."""
    from mlci.repo.git import default_branch
    from mlci.report.document import Revision

    runtime = ctx.runtime
    base_rev = options.base or runtime.base_sha or _local_base(ctx.root, default_branch(ctx.root))
    head_rev = options.head or runtime.head_sha or None
    base = Revision(base_rev, _commit(ctx, base_rev, "base"))
    if head_rev is None:
        return base, Revision("workspace", "")
    return base, Revision(head_rev, _commit(ctx, head_rev, "head"))


def _local_base(root: Path, branch: str) -> str:
    from mlci.repo.git import resolve

    if resolve(root, branch):
        return branch
    return f"origin/{branch}" if resolve(root, f"origin/{branch}") else branch


def _commit(ctx: RunContext, rev: str, side: str) -> str:
    """The commit `rev` names; in a shallow CI clone, fetched (depth 1) when missing."""
    from mlci.repo.git import GitError, ensure_commit

    try:
        return ensure_commit(ctx.root, rev, ci=ctx.runtime.in_actions)
    except GitError as exc:
        raise MlciError(f"the {side} revision: {exc.message}", exc.hint) from None


# --- outputs ------------------------------------------------------------------------------------


def _write_outputs(
    ctx: RunContext, options: ReportOptions, text: str, markdown: str, document: object
) -> str:
    """--output or stdout; in Actions also .mlci/reports/<id>.{md,json} (the artifact). Returns report-file."""
    report_file = ""
    if options.output:
        path = Path(options.output)
        write_output_atomic(path, text)
        report_file = str(path)
        click.echo(f"report written to {one_line(report_file)}", err=True)
    else:
        click.echo(text, nl=False)
    if ctx.runtime.in_actions:
        folder = ctx.root / REPORTS_DIR
        name = safe_id(ctx.config.report.id)
        write_output_atomic(folder / f"{name}.md", markdown)
        write_output_atomic(folder / f"{name}.json", json.dumps(document, indent=2) + "\n")
        if not report_file:
            suffix = "json" if options.format == "json" else "md"
            report_file = str((folder / f"{name}.{suffix}").relative_to(ctx.root))
    return report_file


def _write_images(ctx: RunContext, report: Report, shown: Mapping[str, Any]) -> None:
    """In Actions, the head's changed image plots go into the artifact beside the report
    (`<id>.images/`, one flat file name per plot file), so the comment's link leads to them."""
    if not ctx.runtime.in_actions:
        return
    from mlci.repo.plots import image_content

    folder = ctx.root / REPORTS_DIR / f"{safe_id(report.id)}.images"
    for plot in report.plots:
        image = plot.head.image if plot.head else None
        if plot.kind != "image" or not plot.changed or image is None:
            continue
        content = image_content(shown, image.file)
        if content is not None:
            write_bytes_atomic(folder / image_file_name(image.file), content)


def image_file_name(path: str) -> str:
    """A plot file's path as one safe file name: `a/b/c.png` → `a__b__c.png` (no folders, no `..`)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", path.replace("/", "__")).lstrip(".") or "image"


def _write_post_bundle(ctx: RunContext, report: Report, body: str) -> None:
    """What the fork-safe `workflow_run` side posts: the comment, its PR and the commit it is about."""
    if not ctx.runtime.in_actions:
        return
    from mlci.report.fork import bundle

    path = ctx.root / REPORTS_DIR / f"{safe_id(report.id)}.comment.json"
    write_output_atomic(path, json.dumps(bundle(report, body), indent=2) + "\n")


def _data_checks(ctx: RunContext, base: Revision, head: Revision) -> DataChecks | None:
    """Contracts and drift of the datasets the PR changed (mlci.data.check); its annotations go out now."""
    if not head.sha:
        return None  # the data checks compare commits; `mlci data check` covers the workspace
    from mlci.data.datasets import changed_datasets
    from mlci.report.document import DataChecks

    base_sha, head_sha, changed = changed_datasets(ctx.root, base.sha, head.sha, ctx.config)
    if not changed:
        return None
    from mlci.data.check import section_for  # the checks load only when the PR changed data

    section = section_for(ctx.root, ctx.config, changed, base_sha, head_sha)
    for note in section.annotations:
        ctx.actions.annotate(note.level, note.message, file=note.file, line=note.line, title=note.title)
    markdown = section.markdown.replace("### Data", "#### Data checks", 1)  # under the report's heading
    return DataChecks(markdown=markdown, passed=section.passed, json=section.json)


def _annotate_failures(ctx: RunContext, report: Report) -> None:
    for g in report.failed_gates:
        where = g.file or ctx.config.source or "mlci.yaml"
        name = f"{g.file}:{g.key}" if g.file else g.gate.metric
        ctx.actions.annotate(
            "error", one_line(f"{name}: {g.reason}", 500), file=one_line(where), title="mlci gate failed"
        )
