"""`mlci train` and `mlci affected`: one job each, from checks to outputs."""

from __future__ import annotations

import json
import posixpath
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

import click

from mlci.commands.context import RunContext
from mlci.errors import MlciError
from mlci.fsutil import write_output_atomic
from mlci.github.actions import Actions
from mlci.render import render
from mlci.repo import pipeline as pl
from mlci.repo import remote as rm
from mlci.repo.git import ensure_commit, git, resolve
from mlci.safety import md_escape, one_line, write_command
from mlci.train.affected import ALL, Affected, everything, find_affected
from mlci.train.commitback import commit_and_push, put_back, run_results, snapshot
from mlci.train.reproduce import TrainResult, push, reproduce, stop_token

RESULT_FILE = ".mlci/train/result.json"
ICONS = {"ran": "🔁", "restored": "♻️", "unchanged": "✅"}
ZERO_SHA = "0" * 40


@dataclass(frozen=True)
class TrainOptions:
    models: tuple[str, ...] = ()
    pull: bool | None = None  # None: config.train.pull
    push: bool | None = None  # None: config.train.push
    commit: bool = False
    json_output: bool = False


def run_train(ctx: RunContext, opts: TrainOptions) -> TrainResult:
    cfg = ctx.config.train
    # a failed run leaves no result file: an earlier run's would read as this one's
    (ctx.root / RESULT_FILE).unlink(missing_ok=True)
    pipeline = pl.read(ctx.root)
    if not pipeline.stages:
        raise MlciError(
            "no DVC stages: dvc.yaml is missing or empty", "define your pipeline in dvc.yaml first"
        )
    targets = _targets(ctx, pipeline, opts.models)
    remote, default = rm.find(ctx.root, cfg.remote)
    has_results = any((ctx.root / f).with_name("dvc.lock").exists() for f in pipeline.files)
    for warning in rm.preflight(remote, has_results=has_results):
        ctx.actions.annotate("warning", warning, title="mlci train")
    pull = cfg.pull if opts.pull is None else opts.pull
    push_on = cfg.push if opts.push is None else opts.push
    if pull or push_on:  # in seconds, before DVC's status check or push would retry for minutes
        failure = rm.unreachable(remote)
        if failure is not None:
            ctx.actions.append_summary(f"### mlci train\n\n❌ {md_escape(failure.message)}\n")
            raise failure
    branch = _commit_branch(ctx) if opts.commit else ""
    echo = _echo(opts.json_output)
    actions = Actions(ctx.runtime, stream=sys.stderr) if opts.json_output else ctx.actions  # stdout: JSON

    result = TrainResult(remote=remote.name)
    selected = pl.closure(pipeline, targets) if targets else list(pipeline.stages)
    locks = [posixpath.join(posixpath.dirname(f), "dvc.lock") for f in pipeline.files]
    candidates = [*locks, *(o.path for s in selected for o in pipeline.stages[s].uncached)]
    before = snapshot(ctx.root, candidates)  # the user's pending edits are not results
    with (
        rm.as_default(ctx.root, remote, default),
        actions.group("dvc repro: " + one_line(" ".join(targets) or "all stages")),
        _commands_stopped(ctx, sys.stderr if opts.json_output else sys.stdout),
    ):
        try:
            result.stages = reproduce(ctx.root, pipeline, targets, pull=pull, remote=remote, echo=echo)
        except MlciError as exc:  # the summary says what failed; the funnel prints it and exits 2
            back = put_back(ctx.root, candidates, before)  # nothing half-made left in git's files
            if back:
                exc.message += f" (put back as they were before the run: {one_line(', '.join(back), 200)})"
            ctx.actions.append_summary(f"### mlci train\n\n❌ {md_escape(exc.message)}\n")
            raise
    result.seconds = round(sum(s.seconds for s in result.stages), 3)
    results = run_results(ctx.root, candidates, before, locks)
    files = results.files
    result.changed = bool(files)
    result.metrics_files = [
        o.path
        for s in selected
        for o in pipeline.stages[s].outs
        if o.kind == "metrics" and (ctx.root / o.path).exists()
    ]
    # a restored stage came from a run-cache, maybe a local one (a DVC cache that actions/cache brought
    # back) that the remote never had: pushed like a stage that ran (DVC sends only what it lacks)
    produced = result.names("ran") + result.names("restored")
    # an interrupted run's results may never have reached the remote: pushed too (DVC sends what it lacks)
    if (cfg.push if opts.push is None else opts.push) and (produced or results.interrupted):
        with actions.group(f"dvc push --run-cache -r {one_line(remote.name, 60)}"):
            result.push_seconds = push(ctx.root, remote, selected, pipeline, everything=not targets)
            result.pushed = True
    notes: list[str] = []
    if results.interrupted and opts.commit:
        notes.append("dvc.lock already differed from HEAD (an interrupted run's results): committed now.")
        click.echo(f"mlci train: {notes[-1]}", err=True)
    if opts.commit:
        done = commit_and_push(
            ctx.root,
            files,
            message=cfg.commit_message,
            branch=branch,
            stages=selected,
            warn=lambda m: ctx.actions.annotate("warning", m, title="mlci train"),
            contents=results.contents,
        )
        result.commit = done.sha
        if done.note:
            notes.append(f"Results not committed: {done.note}.")
    _publish(ctx, result, branch, files, notes, opts.json_output)
    return result


@contextmanager
def _commands_stopped(ctx: RunContext, stream: TextIO) -> Iterator[None]:
    """The pipeline's own output cannot issue workflow commands (it may come from a PR)."""
    token = stop_token() if ctx.runtime.in_actions else ""
    if token:
        write_command(stream, f"::stop-commands::{token}")
    try:
        yield
    finally:
        if token:
            write_command(stream, f"::{token}::")


def _targets(ctx: RunContext, pipeline: pl.Pipeline, models: Sequence[str]) -> list[str]:
    targets: list[str] = []
    for name in models:
        if name == ALL and ALL not in ctx.config.models:
            return []
        _, model = ctx.config.model(name, verb="train")
        targets += [s for s in pl.model_stages(pipeline, name, model.stages, model.path) if s not in targets]
    return targets


def _commit_branch(ctx: RunContext) -> str:
    """The branch results go to; checked before training so a bad setup fails fast."""
    rt = ctx.runtime
    if rt.pull_request:
        if rt.is_fork:
            raise MlciError(
                "cannot commit results to a fork's branch (GITHUB_TOKEN cannot push there)",
                "run `mlci train --no-commit` for pull requests from forks",
            )
        head = git(ctx.root, "rev-parse", "HEAD")
        parents = git(ctx.root, "rev-list", "--parents", "-n", "1", "HEAD").split()
        if rt.head_sha and head != rt.head_sha and len(parents) > 2:
            raise MlciError(
                "the checkout is GitHub's merge commit, not the pull request's branch: "
                "results cannot be committed",
                "check out the branch: actions/checkout with `ref: ${{ github.head_ref }}`",
            )
        return rt.head_ref
    branch = rt.head_ref if rt.in_actions and rt.ref.startswith("refs/heads/") else ""
    branch = branch or git(ctx.root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if not branch:
        raise MlciError("--commit needs a branch, and HEAD is detached", "check out a branch first")
    return branch


def _echo(json_output: bool) -> Callable[[str], None]:
    def echo(line: str) -> None:
        click.echo(line, err=json_output)

    return echo


def _publish(
    ctx: RunContext, result: TrainResult, branch: str, files: list[str], notes: list[str], as_json: bool
) -> None:
    data = result.as_json()
    write_output_atomic(ctx.root / RESULT_FILE, json.dumps(data, indent=2) + "\n")
    out = ctx.actions.set_output
    out("changed", "true" if result.changed else "false")
    out("stages-run", json.dumps(result.names("ran")))
    out("stages-restored", json.dumps(result.names("restored")))
    out("metrics-files", json.dumps(result.metrics_files))
    out("commit", result.commit)
    counts = {k: len(result.names(k)) for k in ICONS}  # type: ignore[arg-type]
    summary = render(
        "train/summary.md.j2",
        repo_root=ctx.root,
        title="mlci train",
        stages=result.stages,
        icons=ICONS,
        counts=counts,
        seconds=result.seconds,
        pushed=result.pushed,
        push_seconds=result.push_seconds,
        remote=result.remote,
        commit=result.commit,
        branch=branch,
        files=files,
        notes=notes,
    )
    ctx.actions.append_summary(summary)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for stage in result.stages:
        click.echo(f"{stage.outcome:>9}  {one_line(stage.name, 80)}  {stage.seconds:.1f} s")
    click.echo(
        f"{counts['ran']} ran, {counts['restored']} restored, {counts['unchanged']} unchanged; "
        f"changed: {'yes' if result.changed else 'no'}; pushed: {'yes' if result.pushed else 'no'}"
        + (f"; committed {result.commit[:12]}" if result.commit else "")
    )


# --- affected ------------------------------------------------------------------------------------


def run_affected(ctx: RunContext, base: str | None, fmt: str, *, all_models: bool = False) -> Affected:
    pipeline = pl.read(ctx.root)
    rev, why = ("", "every model was asked for (--all)") if all_models else _base(ctx, base)
    result = find_affected(ctx.root, rev, ctx.config, pipeline) if rev else everything(ctx.config, why)
    matrix = json.dumps(result.matrix(), separators=(",", ":"))
    ctx.actions.set_output("matrix", matrix)
    ctx.actions.set_output("models", json.dumps(result.models))
    ctx.actions.set_output("any", "true" if result.models else "false")
    rows = [(name, result.reasons.get(name, [])) for name in result.models]
    ctx.actions.append_summary(
        render(
            "train/affected.md.j2",
            repo_root=ctx.root,
            base=result.base,
            changed_files=result.changed_files,
            rows=rows,
        )
    )
    if fmt == "json":
        click.echo(matrix)
    elif fmt == "list":
        for name in result.models:
            click.echo(one_line(name, 200))
    else:
        if not result.models:
            click.echo("no model is affected")
        for name, reasons in rows:
            click.echo(f"{one_line(name, 80)}: {one_line('; '.join(reasons), 300)}")
    return result


def _base(ctx: RunContext, base: str | None) -> tuple[str, str]:
    """The commit to compare with, or "" and why everything counts as affected."""
    root, rt = ctx.root, ctx.runtime
    if base:
        return ensure_commit(root, base, ci=rt.in_actions), ""
    if rt.pull_request and rt.base_sha:
        return ensure_commit(root, rt.base_sha, ci=rt.in_actions), ""
    if rt.event_name == "push":
        before = str(rt.event.get("before") or "")
        if not before or before == ZERO_SHA:
            return "", "a new branch: no previous commit to compare with"
        try:
            return ensure_commit(root, before), ""
        except MlciError:
            return "", f"the previous commit {before[:12]} is not reachable (force-push?)"
    for candidate in (f"origin/{ctx.runtime.default_branch or 'main'}", "origin/main", "origin/master"):
        found = resolve(root, candidate)
        if found:
            return found, ""
    return "", "no base to compare with (pass --base REV)"
