"""`mlci monitor`: drift of current data versus the production model's training data, prediction
drift, performance decay, and the hand-over to retraining.

One pass over the current data feeds the data profile, the model's predictions and the decay
metrics; the reference side is a profile, built once and cached by content hash.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from mlci.commands.context import RunContext
from mlci.config import ModelConfig
from mlci.errors import MlciError
from mlci.fsutil import write_text_atomic
from mlci.github.actions import Actions
from mlci.monitor.inputs import Observed, Options, Production
from mlci.monitor.reference import Reference, load_reference
from mlci.repo.git import git
from mlci.safety import one_line


def run(ctx: RunContext, opts: Options) -> dict[str, Any]:
    """Monitor one model; returns the JSON report (also written where the options say)."""
    from mlci.monitor.report import build_report, render_markdown

    name, model = choose_model(ctx, opts.name)
    prod = production(ctx, name)
    ref = load_reference(ctx.root, ctx.config, name, model, prod.commit, opts)
    try:
        observed = observe(ctx, opts.current, ref, model)
    finally:
        ref.close()
    report = build_report(ctx.config, name, prod, ref, observed)
    markdown = render_markdown(ctx.root, report, observed)
    emit(ctx, opts, report, markdown)
    if opts.open_pr:
        hand_over(ctx, name, report, opts)
    return report


def choose_model(ctx: RunContext, name: str) -> tuple[str, ModelConfig | None]:
    if not name and not ctx.config.models:
        return "", None  # compare data alone: no model, no prediction drift or decay
    return ctx.config.model(name, verb="monitor")


def production(ctx: RunContext, name: str) -> Production:
    """The commit of the version in production, from the registry; HEAD when there is none."""
    stage = ctx.config.deploy.stage
    head = git(ctx.root, "rev-parse", "HEAD")
    from mlci.deploy.registry import find_stage

    entry = find_stage(ctx.root, name, stage) if name else None
    if entry is None:
        return Production(
            head, None, "HEAD", f"no version of {name or 'the model'} is in stage {stage!r}: using HEAD"
        )
    return Production(str(entry.commit), str(entry.version), "registry")


def observe(ctx: RunContext, spec: str, ref: Reference, model: ModelConfig | None) -> Observed:
    from mlci.drift import engine as drift
    from mlci.drift.profile import ProfileBuilder
    from mlci.monitor import model as monitor_model
    from mlci.repo.tables import open_data

    monitor = ctx.config.monitor
    thresholds = drift.Thresholds.from_config(monitor)
    target = model.target if model else ""
    notes: list[str] = []
    data_builder = ProfileBuilder(ref.profile.settings, reference=ref.profile)
    pred_builder = None
    if ref.prediction is not None and ref.model is not None:
        pred_builder = ProfileBuilder(ref.prediction.settings, reference=ref.prediction)
    scorer = None
    model_obj = ref.model
    model_note = ""
    with open_data(ctx.root, spec, cwd=Path.cwd()) as data:
        paths = [_shown(ctx.root, p) for p in data.files] if not data.hashes else [spec]
        for i, batch in enumerate(data.batches(monitor.chunk_rows)):
            if i == 0:  # a wholly different table is an input error, before the model sees it
                reference_columns = [n for n in ref.profile.columns if n != target]
                drift.check_columns(reference_columns, [n for n in batch.schema.names if n != target])
            data_builder.add(batch)
            if model_obj is None:
                continue
            frame = monitor_model.features(batch, target)
            try:
                labels, score = monitor_model.predict(model_obj, frame)
            except MlciError as exc:  # e.g. a feature is missing: still report the data drift
                model_note = exc.message
                notes.append(f"prediction drift and decay not checked: {exc.message}")
                model_obj, pred_builder, scorer = None, None, None
                continue
            if pred_builder is not None:
                pred_builder.add(monitor_model.prediction_batch_from(labels, score))
            if target and target in batch.schema.names:
                scorer = scorer or monitor_model.Scorer(model_obj, target)
                scorer.add(batch.to_pandas(), labels, score)
    current = data_builder.finish({"spec": spec})
    result = drift.compare(ref.profile, current, thresholds, exclude={target} if target else ())
    prediction = None
    predicted = pred_builder.finish() if pred_builder is not None else None
    if predicted is not None and predicted.rows and ref.prediction is not None:
        prediction = drift.compare(ref.prediction, predicted, thresholds)
    decay = None
    if scorer is not None:
        decay = _decay(ctx, ref, scorer, model)
    elif model_obj is not None and target:
        notes.append(f"no performance decay check: the current data has no label column {target!r}")
    return Observed(result, prediction, decay, paths, spec, current.rows, notes, model_note)


def _decay(ctx: RunContext, ref: Reference, scorer: Any, model: ModelConfig | None) -> Any:
    from mlci.monitor import decay

    computed = scorer.metrics()
    labelled = sum(len(t) for t in scorer.truth)
    recorded = decay.recorded_metrics(ctx.root, ref.model_commit, model.metrics if model else ())
    return decay.evaluate(recorded, computed, labelled, ctx.config, ref.name)


def emit(ctx: RunContext, opts: Options, report: dict[str, Any], markdown: str) -> None:
    text = json.dumps(report, indent=2, default=_json_default) + "\n"
    chosen = text if opts.fmt == "json" else markdown
    if opts.output:
        write_text_atomic(opts.output, chosen)
        ctx.actions.set_output("report", opts.output)
        click.echo(f"report written to {one_line(opts.output)}", err=True)
    else:
        click.echo(chosen, nl=False)
    ctx.actions.append_summary(markdown)
    ctx.actions.set_output("drift-detected", str(report["drift_detected"]).lower())
    ctx.actions.set_output("retrain-needed", str(report["retrain_needed"]).lower())
    if report["drift_detected"] or report["retrain_needed"]:
        # on stderr: stdout may be the JSON report a later step parses
        Actions(ctx.runtime, stream=sys.stderr).annotate(
            "warning", one_line(report["summary"], 400), title="mlci monitor"
        )


def hand_over(ctx: RunContext, name: str, report: dict[str, Any], opts: Options) -> None:
    """--open-pr: the retraining step, when it is needed and this mlci has it."""
    if not report["retrain_needed"]:
        click.echo("no retraining needed: no pull request", err=True)
        return
    from mlci.commands.retrain import run_retrain

    run_retrain(ctx, name, report, [])  # the fresh data paths are in the report


def _shown(root: Path, path: Path) -> str:
    """Paths in the report: relative to the working folder when inside it, as given otherwise."""
    for base in (Path.cwd(), root):
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
