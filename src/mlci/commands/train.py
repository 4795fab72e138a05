"""`mlci train`: one job, from checks to outputs (`mlci affected`: commands.affected)."""

from __future__ import annotations

import json
import posixpath
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

import click

from mlci.commands.context import RunContext
from mlci.errors import MlciError
from mlci.fsutil import write_output_atomic
from mlci.github.actions import Actions
from mlci.render import render
from mlci.repo import pipeline as pl
from mlci.repo import remote as rm
from mlci.repo.git import git
from mlci.repo.revision import check_workspace_files
from mlci.safety import md_escape, one_line, write_command
from mlci.train.affected import ALL
from mlci.train.commitback import commit_and_push, put_back, repair_locks, run_results, snapshot
from mlci.train.reproduce import TrainResult, push, reproduce, stop_token

RESULT_FILE = ".mlci/train/result.json"
ICONS = {"ran": "🔁", "restored": "♻️", "unchanged": "✅"}


@dataclass(frozen=True)
class TrainOptions:
    """`mlci train [MODEL]... [--pull/--no-pull] [--push/--no-push] [--commit] [--format text|json]`."""

    models: tuple[str, ...] = ()
    pull: bool | None = None  # None: config.train.pull
    push: bool | None = None  # None: config.train.push
    commit: bool = False
    json_output: bool = False


def run(ctx: RunContext, options: TrainOptions) -> int:
    """Run the pipeline (or the stages of `options.models`); 0, or MlciError (exit 2) when it failed."""
    run_train(ctx, options)
    return 0


@dataclass(frozen=True)
class _Plan:
    """What a train run works with, checked before DVC runs anything."""

    pipeline: pl.Pipeline
    targets: list[str]
    selected: list[str]
    remote: rm.Remote
    default: str
    pull: bool
    push: bool
    candidates: list[str]  # dvc.lock files and uncached outputs: the files a run may change in git


def run_train(ctx: RunContext, opts: TrainOptions) -> TrainResult:
    """Reproduce, push, commit back and publish; the result (also written to RESULT_FILE)."""
    # a failed run leaves no result file: an earlier run's would read as this one's
    (ctx.root / RESULT_FILE).unlink(missing_ok=True)
    plan = _plan(ctx, opts)
    branch = _commit_branch(ctx) if opts.commit else ""
    actions = Actions(ctx.runtime, stream=sys.stderr) if opts.json_output else ctx.actions  # stdout: JSON
    result = TrainResult(remote=plan.remote.name)
    locks = [c for c in plan.candidates if posixpath.basename(c) == "dvc.lock"]
    for path in repair_locks(ctx.root, locks):  # half-written by a killed run: HEAD's is put back
        click.echo(
            f"mlci train: {path} was half-written by an interrupted run; put back as committed", err=True
        )
    check_workspace_files(ctx.root)  # before DVC parses them (an alias bomb would hang `dvc repro`)
    before = snapshot(ctx.root, plan.candidates)  # the user's pending edits are not results
    _reproduce(ctx, plan, opts, actions, result, before)
    result.seconds = round(sum(s.seconds for s in result.stages), 3)
    results = run_results(ctx.root, plan.candidates, before, locks)
    files = results.files
    result.changed = bool(files)
    result.metrics_files = [
        o.path
        for s in plan.selected
        for o in plan.pipeline.stages[s].outs
        if o.kind == "metrics" and (ctx.root / o.path).exists()
    ]
    # a restored stage came from a run-cache, maybe a local one (a DVC cache that actions/cache brought
    # back) that the remote never had: pushed like a stage that ran (DVC sends only what it lacks)
    produced = result.names("ran") + result.names("restored")
    # an interrupted run's results may never have reached the remote: pushed too (DVC sends what it lacks)
    if plan.push and (produced or results.interrupted):
        with actions.group(f"dvc push --run-cache -r {one_line(plan.remote.name, 60)}"):
            result.push_seconds = push(
                ctx.root, plan.remote, plan.selected, plan.pipeline, everything=not plan.targets
            )
            result.pushed = True
    notes = _commit(ctx, plan, branch, results, result) if opts.commit else []
    if results.interrupted and opts.commit:
        notes.insert(0, "dvc.lock already differed from HEAD (an interrupted run's results): committed now.")
        click.echo(f"mlci train: {notes[0]}", err=True)
    _publish(ctx, result, branch, files, notes, opts.json_output)
    return result


def _plan(ctx: RunContext, opts: TrainOptions) -> _Plan:
    """The pipeline, targets and remote, checked (the remote reachable when it is used) before any run."""
    cfg = ctx.config.train
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
    selected = pl.closure(pipeline, targets) if targets else list(pipeline.stages)
    locks = [posixpath.join(posixpath.dirname(f), "dvc.lock") for f in pipeline.files]
    candidates = [*locks, *(o.path for s in selected for o in pipeline.stages[s].uncached)]
    return _Plan(pipeline, targets, selected, remote, default, pull, push_on, candidates)


def _reproduce(
    ctx: RunContext, plan: _Plan, opts: TrainOptions, actions: Actions, result: TrainResult, before: Any
) -> None:
    """`dvc repro` with the remote as default; on failure git's files are put back and the summary says why."""
    with (
        rm.as_default(ctx.root, plan.remote, plan.default),
        actions.group("dvc repro: " + one_line(" ".join(plan.targets) or "all stages")),
        _commands_stopped(ctx, sys.stderr if opts.json_output else sys.stdout),
    ):
        try:
            result.stages = reproduce(
                ctx.root,
                plan.pipeline,
                plan.targets,
                pull=plan.pull,
                remote=plan.remote,
                echo=_echo(opts.json_output),
            )
        except MlciError as exc:  # the summary says what failed; the funnel prints it and exits 2
            back = put_back(ctx.root, plan.candidates, before)  # nothing half-made left in git's files
            if back:
                exc.message += f" (put back as they were before the run: {one_line(', '.join(back), 200)})"
            ctx.actions.append_summary(f"### mlci train\n\n❌ {md_escape(exc.message)}\n")
            raise


def _commit(ctx: RunContext, plan: _Plan, branch: str, results: Any, result: TrainResult) -> list[str]:
    """--commit: the results commit on the branch; the notes say why nothing was committed."""
    done = commit_and_push(
        ctx.root,
        results.files,
        message=ctx.config.train.commit_message,
        branch=branch,
        stages=plan.selected,
        warn=lambda m: ctx.actions.annotate("warning", m, title="mlci train"),
        contents=results.contents,
    )
    result.commit = done.sha
    return [f"Results not committed: {done.note}."] if done.note else []


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
