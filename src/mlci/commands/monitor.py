"""`mlci monitor`: drift of current data versus the production model's training data, prediction
drift, performance decay, and the hand-over to retraining.

The inputs are resolved and checked once (mlci.monitor.inputs), the production version is found in
the registry (deploy's tags: joined here), the pass itself is mlci.monitor.observe.watch, and the
typed verdict is rendered to markdown and JSON only here, where it is written.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from mlci.commands.context import RunContext
from mlci.fsutil import write_output_atomic
from mlci.github.actions import Actions
from mlci.monitor.inputs import Options, Production
from mlci.monitor.report import Verdict
from mlci.safety import one_line


def run(ctx: RunContext, options: Options) -> int:
    """Monitor one model: 0 whether or not drift was found (the outputs say), MlciError (exit 2) on bad
    input."""
    if options.reference_only:
        save_reference(ctx, options)
        return 0
    monitor(ctx, options)
    return 0


def save_reference(ctx: RunContext, opts: Options) -> None:
    """--reference-only: the production version's reference profile (and its predictions') written to
    --save-profile, no current data read: the one file every share of a partitioned run is counted against."""
    from mlci.monitor.inputs import resolve_inputs
    from mlci.monitor.reference import load_reference
    from mlci.repo.revision import SharedRepo

    inputs = resolve_inputs(ctx.root, ctx.config, opts, in_repo=ctx.in_repo)
    prod = production(ctx, inputs.name, inputs.head)
    with SharedRepo(ctx.root) as repo:
        ref = load_reference(ctx.root, ctx.config, inputs, prod.commit, cache=ctx.in_repo, repo=repo)
        ref.close()
    ctx.actions.set_output("reference-profile", opts.save_profile)
    where = f"{prod.source} {prod.version or prod.commit[:12]}".strip()
    click.echo(
        f"reference profile of {inputs.name or 'the data'} ({ref.profile.rows} rows; {where}) written to "
        f"{one_line(opts.save_profile)}",
        err=True,
    )


def monitor(ctx: RunContext, opts: Options) -> Verdict:
    """Monitor one model; the verdict (written where the options say, handed over with --open-pr)."""
    from mlci.monitor.inputs import resolve_inputs
    from mlci.monitor.observe import watch
    from mlci.monitor.report import render_markdown, to_json

    inputs = resolve_inputs(ctx.root, ctx.config, opts, in_repo=ctx.in_repo)
    prod = production(ctx, inputs.name, inputs.head)
    verdict = watch(ctx.root, ctx.config, inputs, prod, cache=ctx.in_repo)
    document = to_json(verdict)
    emit(ctx, inputs.options, verdict, document, render_markdown(ctx.root, verdict))
    if inputs.options.open_pr:
        hand_over(ctx, verdict, document)
    error = verdict.observed.decay.error if verdict.observed.decay is not None else None
    if error is not None:
        raise error  # the labels cannot be read in the model's terms: exit 2, with drift reported
    return verdict


def production(ctx: RunContext, name: str, head: str | None) -> Production:
    """The commit of the version in production, from the registry; HEAD when there is none."""
    if not ctx.in_repo:
        return Production("", None, "none", "not in a git repository: the given files are compared")
    if head is None:
        return Production("", None, "none", "this git repository has no commits yet: no model version")
    stage = ctx.config.deploy.production_stage
    from mlci.deploy.registry import find_stage

    entry = find_stage(ctx.root, name, stage) if name else None
    if entry is None:
        return Production(
            head, None, "HEAD", f"no version of {name or 'the model'} is in stage {stage!r}: using HEAD"
        )
    return Production(str(entry.commit), str(entry.version), "registry")


def emit(ctx: RunContext, opts: Options, verdict: Verdict, document: dict[str, Any], markdown: str) -> None:
    """stdout or --output (as --format says), the job summary, the outputs, a warning on drift."""
    text = json.dumps(document, indent=2, default=_json_default) + "\n"
    chosen = text if opts.fmt == "json" else markdown
    if opts.output:
        write_output_atomic(opts.output, chosen)
        ctx.actions.set_output("report", opts.output)
        click.echo(f"report written to {one_line(opts.output)}", err=True)
    else:
        click.echo(chosen, nl=False)
    ctx.actions.append_summary(markdown)
    ctx.actions.set_output("drift-detected", str(verdict.drift_detected).lower())
    ctx.actions.set_output("retrain-needed", str(verdict.retrain_needed).lower())
    if verdict.drift_detected or verdict.retrain_needed:
        # on stderr: stdout may be the JSON report a later step parses
        Actions(ctx.runtime, stream=sys.stderr).annotate(
            "warning", one_line(verdict.summary, 400), title="mlci monitor"
        )


def hand_over(ctx: RunContext, verdict: Verdict, document: dict[str, Any]) -> None:
    """--open-pr: the retraining step, when it is needed (it reads the JSON document, as --from-report)."""
    if not verdict.retrain_needed:
        click.echo("no retraining needed: no pull request", err=True)
        return
    from mlci.commands.retrain import run_retrain

    run_retrain(ctx, verdict.name, document, [])  # the fresh data paths are in the report


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
