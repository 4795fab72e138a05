"""`mlci retrain`: fresh labelled data → the rolling retrain branch → one pull request.

Order matters for recovery: data to the DVC remote, then the branch to origin, then the pull request.
A run that dies anywhere leaves a state the next run completes: it rebuilds the same data on the same
base, finds the branch already carries it (no new commit), and opens the pull request if none is open.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from mlci.commands.context import RunContext
from mlci.errors import MlciError
from mlci.github.errors import GitHubError
from mlci.repo.git import default_branch
from mlci.retrain import branch as branches
from mlci.retrain import dvc_steps as dvc
from mlci.retrain import handover as report_io
from mlci.retrain import pull_request as prs
from mlci.retrain.update import (
    DataUpdate,
    append_rows,
    choose_model,
    content_hash,
    file_md5,
    find_dataset,
    load_fresh,
    plain_md5,
    pointer_md5,
    read_table,
    replace_rows,
)
from mlci.safety import md_code, md_escape, one_line

if TYPE_CHECKING:
    from mlci.github.client import GitHubClient

Action = Literal["opened", "updated", "unchanged", "no-change", "declined"]


@dataclass(frozen=True)
class RetrainResult:
    model: str
    branch: str
    action: Action  # no-change: the data is already on the default branch; declined: a person closed it
    data_hash: str = ""
    commit: str = ""  # the branch's commit ("" when no branch was made)
    new_commit: bool = False
    pr_number: int | None = None
    pr_url: str = ""
    dispatched: bool = False
    message: str = ""


@dataclass
class _Plan:
    model: str
    dataset: str
    branch: str
    base_branch: str
    tips: branches.Tips


def run_retrain(
    ctx: RunContext, name: str, report: dict[str, Any] | None, data_paths: list[str]
) -> RetrainResult:
    """The whole loop step: data → DVC remote → branch on origin → pull request (or why not).

    Says what happened (stdout, step outputs, job summary); `mlci monitor --open-pr` calls this too.
    """
    prepared = push_branch(ctx, name, report, data_paths)
    result = prepared if isinstance(prepared, RetrainResult) else open_pull(ctx, prepared)
    publish_result(ctx, result)
    return result


@dataclass(frozen=True)
class Prepared:
    """A retrain branch that is pushed (data in the DVC remote first) and waits for its pull request."""

    plan: _Plan
    sha: str
    new_commit: bool
    data_hash: str
    context: dict[str, Any]


def push_branch(
    ctx: RunContext, name: str, report: dict[str, Any] | None, data_paths: list[str]
) -> Prepared | RetrainResult:
    """Everything up to and including the branch push; a RetrainResult when there is nothing to propose."""
    config = ctx.config
    model = choose_model(config, name, report)
    dataset = find_dataset(ctx.root, config, model)
    branch = branches.check_branch_name(ctx.root, f"{config.retrain.branch_prefix.rstrip('/')}/{model}")
    client = ctx.github()
    online = bool(ctx.runtime.token and ctx.runtime.repository)
    base_branch = ctx.runtime.default_branch or (
        str(client.get_repo().get("default_branch") or "main") if online else default_branch(ctx.root)
    )
    fresh_paths = report_io.fresh_paths(ctx.root, data_paths, report)
    report_io.require_fresh(fresh_paths, config.retrain.mode)  # before any fetch or checkout
    plan = _Plan(model, dataset, branch, base_branch, branches.fetch_tips(ctx.root, base_branch, branch))
    with ctx.actions.group(f"retrain {one_line(model)}: {one_line(dataset)} → {one_line(branch)}"):
        with branches.scratch_checkout(ctx.root, plan.tips.base) as work:
            built = _build(ctx, plan, work, fresh_paths, report)
        if isinstance(built, RetrainResult):
            return built
        if plan.tips.remote and built.sha != plan.tips.branch:
            branches.push_branch(ctx.root, built.sha, branch, plan.tips.branch)
        branches.set_local_branch(ctx.root, branch, built.sha)
    return built


def open_pull(ctx: RunContext, prepared: Prepared) -> RetrainResult:
    """Open the pull request of a pushed branch, or update the open one; start its checks if needed."""
    plan, client = prepared.plan, ctx.github()
    update: DataUpdate = prepared.context["update"]
    outcome = prs.ensure_pull(
        client,
        branch=plan.branch,
        base=plan.base_branch,
        title=prs.pr_title(plan.model, update),
        body=prs.pr_body(
            ctx.root, prs.open_for(client, plan.branch), ctx.runtime.run_url, **prepared.context
        ),
        settings=ctx.config.retrain,
    )
    for warning in outcome.warnings:
        ctx.actions.annotate("warning", warning, title="mlci retrain")
    dispatched = _dispatch(ctx, client, plan.branch, prepared.new_commit or outcome.action == "opened")
    return RetrainResult(
        plan.model,
        plan.branch,
        outcome.action,
        prepared.data_hash,
        prepared.sha,
        prepared.new_commit,
        outcome.number,
        outcome.url,
        dispatched,
        f"pull request #{outcome.number} {outcome.action} for {plan.branch}",
    )


def _build(
    ctx: RunContext, plan: _Plan, work: Path, fresh_paths: list[Path], report: Mapping[str, Any] | None
) -> RetrainResult | Prepared:
    """Update the data in the scratch checkout, push it to the DVC remote and commit it (or find the
    branch already has that commit); a RetrainResult when there is nothing to propose."""
    pointer = work / f"{plan.dataset}.dvc"
    old_md5 = pointer_md5(pointer.read_text(encoding="utf-8"))
    update, data_hash = _update_data(ctx, plan, work, fresh_paths)
    mark = prs.marker(plan.model, data_hash)
    closed = prs.closed_for(ctx.github(), plan.branch, mark)
    if closed is not None:
        word = "merged" if closed.get("merged_at") or closed.get("merged") else "closed"
        why = f"pull request #{closed.get('number')} with this data was {word}"
        return _stop(plan, "declined", data_hash, why)
    if not update.changed:
        return _stop(plan, "no-change", data_hash, f"{plan.base_branch} already has this data")
    pointer_path = f"{plan.dataset}.dvc"
    # DVC 3 records a file's plain md5: when the branch already has this very file, neither
    # `dvc add` nor `dvc push` is needed (the branch was only ever pushed after its data)
    early = file_md5(work / plan.dataset) if update.mode != "update" and plain_md5(pointer) else ""
    reuse = _reusable(ctx, plan, pointer_path, early) if early else None
    if not reuse:
        if update.mode != "update":
            dvc.add(work, plan.dataset)
        early = pointer_md5(pointer.read_text(encoding="utf-8"))
    new_md5 = early
    if new_md5 == old_md5:
        return _stop(plan, "no-change", data_hash, f"{plan.base_branch} already has this data")
    context = _pr_context(ctx.root, plan, update, report, fresh_paths, (old_md5, new_md5))
    context.update(marker=mark)
    if reuse:
        return Prepared(plan, reuse, False, data_hash, context)
    dvc.push(work, plan.dataset, ctx.config.train.remote)
    reuse = _reusable(ctx, plan, pointer_path, new_md5)
    if reuse:
        return Prepared(plan, reuse, False, data_hash, context)
    message = branches.commit_message(
        plan.model, plan.dataset, update, data_hash, context["drifted"], context["decayed"]
    )
    sha = branches.commit_all(work, message)
    assert sha is not None  # the pointer changed
    return Prepared(plan, sha, True, data_hash, context)


def _pr_context(
    root: Path,
    plan: _Plan,
    update: DataUpdate,
    report: Mapping[str, Any] | None,
    fresh_paths: list[Path],
    md5s: tuple[str, str],
) -> dict[str, Any]:
    """What the pull request body template is given (values escaped there, not here)."""
    drifted, checked = report_io.drift_rows(report)
    return {
        "model": plan.model,
        "summary": str((report or {}).get("summary") or ""),
        "drifted": drifted,
        "columns_checked": checked,
        "drift_detected": bool((report or {}).get("drift_detected")),
        "decayed": report_io.decay_rows(report),
        "dataset": plan.dataset,
        "mode": update.mode,
        "rows_before": update.rows_before,
        "rows_after": update.rows_after,
        "rows_added": update.rows_added,
        "fresh_paths": [report_io.shown(root, p) for p in fresh_paths],
        "old_md5": md5s[0],
        "new_md5": md5s[1],
        "update": update,
    }


def _stop(plan: _Plan, action: Action, data_hash: str, why: str) -> RetrainResult:
    return RetrainResult(plan.model, plan.branch, action, data_hash, message=f"no pull request: {why}")


def _update_data(ctx: RunContext, plan: _Plan, work: Path, fresh_paths: list[Path]) -> tuple[DataUpdate, str]:
    mode, target = ctx.config.retrain.mode, work / plan.dataset
    if mode == "update":
        before = pointer_md5((work / f"{plan.dataset}.dvc").read_text(encoding="utf-8"))
        dvc.update(work, plan.dataset)
        after = pointer_md5((work / f"{plan.dataset}.dvc").read_text(encoding="utf-8"))
        return DataUpdate(plan.dataset, mode, None, None, None, before != after), after
    dvc.materialize(ctx.root, work, plan.dataset)
    if mode == "command":
        before = file_md5(target)
        _run_command(ctx, work, plan, fresh_paths)
        after = file_md5(target) if target.exists() else ""
        return DataUpdate(plan.dataset, mode, None, None, None, before != after), after
    current = read_table(target)
    fresh = load_fresh(fresh_paths, current, plan.dataset)
    apply = append_rows if mode == "append" else replace_rows
    return apply(target, current, fresh, plan.dataset), content_hash(fresh)


def _run_command(ctx: RunContext, work: Path, plan: _Plan, fresh_paths: list[Path]) -> None:
    command = ctx.config.retrain.command
    if not command:
        raise MlciError(
            "retrain.mode is `command` but retrain.command is empty", "set `retrain.command` in mlci.yaml"
        )
    env = dict(os.environ)
    env.update(
        MLCI_MODEL=plan.model,
        MLCI_DATASET=plan.dataset,
        MLCI_FRESH_DATA=os.pathsep.join(str(p) for p in fresh_paths),
    )
    proc = subprocess.run(command, shell=True, cwd=work, env=env, check=False)
    if proc.returncode != 0:
        raise MlciError(
            f"retrain.command exited with {proc.returncode}", "run it by hand in the repository to see why"
        )


def _reusable(ctx: RunContext, plan: _Plan, pointer: str, new_md5: str) -> str | None:
    """The branch's tip, when it already proposes this data on this base: our retraining commit on the
    default branch's tip, with only `mlci train --commit` results on top. None: build a new commit.

    A branch whose commits are all mlci's (or whose pull request was merged or closed) may be rebuilt;
    a commit a person pushed onto an open branch is never overwritten.
    """
    tip = plan.tips.branch
    if tip is None:
        return None
    commits = branches.branch_commits(ctx.root, plan.tips.base, tip)  # newest first
    foreign = [c for c in commits if not c.ours(plan.model)]
    if foreign:
        if prs.finished(ctx.github(), plan.branch, tip):
            return None  # its pull request is merged or closed: start the branch afresh
        theirs = foreign[0]
        raise MlciError(
            f"branch {one_line(plan.branch)} has commit {theirs.sha[:12]} by {one_line(theirs.author, 80)} "
            "that mlci did not make: not overwriting it",
            "merge or close its pull request (mlci then starts the branch afresh on the next run), or move "
            "that commit to another branch; or set another `retrain.branch_prefix`",
        )
    if not commits:
        return None  # the default branch already holds the whole branch (merged): start afresh
    first = commits[-1]
    if first.model != plan.model or first.parent != plan.tips.base:
        return None
    same = pointer_md5(branches.show_file(ctx.root, tip, pointer)) == new_md5
    return tip if same else None


def _dispatch(ctx: RunContext, client: GitHubClient, branch: str, wanted: bool) -> bool:
    """With GITHUB_TOKEN our push and pull request start no workflow: start the checks ourselves."""
    if not wanted or prs.token_kind(os.environ) != "github-token":
        return False
    workflow = ctx.config.retrain.dispatch_workflow
    if not workflow:
        ctx.actions.annotate(
            "warning",
            "the pull request was made with GITHUB_TOKEN, so its checks will not start on their own: set "
            "`retrain.dispatch_workflow` in mlci.yaml, or give mlci a PAT or app token as MLCI_GITHUB_TOKEN",
            title="mlci retrain",
        )
        return False
    try:
        client.dispatch_workflow(workflow, branch, {})
    except GitHubError as exc:
        raise MlciError(
            f"the pull request is open, but starting {one_line(workflow)} on it failed: {exc.message}",
            "check `retrain.dispatch_workflow` (a workflow file with `on: workflow_dispatch`) and the job's "
            f"`actions: write`; start it by hand with `gh workflow run {workflow} --ref {branch}`",
        ) from None
    click.echo(f"started workflow {one_line(workflow)} on {one_line(branch)}")
    return True


# --- the CLI's entry point ----------------------------------------------------------------------


@dataclass(frozen=True)
class RetrainOptions:
    """`mlci retrain [NAME] [--from-report FILE] [--data FILE]...`."""

    name: str = ""
    report_file: str | None = None
    data_paths: tuple[str, ...] = ()


def run(ctx: RunContext, options: RetrainOptions) -> int:
    """Open (or update) the retraining pull request; 0 (also when none is needed), or MlciError."""
    retrain(ctx, options.name, options.report_file, options.data_paths)
    return 0


def retrain(
    ctx: RunContext, name: str, report_file: str | None, data_paths: Sequence[str]
) -> RetrainResult | None:
    report = report_io.load_report(report_file) if report_file else None
    if report is not None and report.get("retrain_needed") is False and not data_paths:
        click.echo("the monitor report says no retraining is needed: nothing to do")
        ctx.actions.set_output("retrain-action", "not-needed")
        return None
    return run_retrain(ctx, name, report, list(data_paths))


def publish_result(ctx: RunContext, result: RetrainResult) -> None:
    """Say what happened: one line on stdout, the step's outputs, a line in the job summary."""
    click.echo(one_line(result.message, 300))
    for key, value in (
        ("retrain-action", result.action),
        ("branch", result.branch),
        ("pr-number", str(result.pr_number or "")),
        ("pr-url", result.pr_url),
        ("commit", result.commit),
    ):
        ctx.actions.set_output(key, value)
    link = f" ([#{result.pr_number}]({result.pr_url}))" if result.pr_number and result.pr_url else ""
    ctx.actions.append_summary(
        f"### mlci retrain {md_code(result.model)}\n\n{md_escape(result.message)}{link}\n"
    )
