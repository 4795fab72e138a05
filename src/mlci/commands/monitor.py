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
from mlci.fsutil import write_output_atomic
from mlci.github.actions import Actions
from mlci.monitor.inputs import Observed, Options, Production
from mlci.monitor.reference import Reference, load_reference
from mlci.safety import one_line


def run(ctx: RunContext, opts: Options) -> dict[str, Any]:
    """Monitor one model; returns the JSON report (also written where the options say)."""
    from mlci.monitor.report import build_report, render_markdown

    opts = _with_current(ctx, opts)
    name, model = check_inputs(ctx, opts)
    prod = production(ctx, name)
    ref = load_reference(ctx.root, ctx.config, name, model, prod.commit, opts, cache=ctx.in_repo)
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


def _with_current(ctx: RunContext, opts: Options) -> Options:
    """--current, else mlci.yaml's monitor.current (relative to the project's folder), given relative to
    where mlci runs as --current would be: the report shows `data/fresh`, not the runner's folders."""
    import os
    from dataclasses import replace

    configured = ctx.config.monitor.current
    if opts.current or not configured or Path(configured).is_absolute():
        return replace(opts, current=opts.current or configured)
    return replace(opts, current=os.path.relpath(ctx.root / configured, Path.cwd()))


def check_inputs(ctx: RunContext, opts: Options) -> tuple[str, ModelConfig | None]:
    """Every input checked before any is read (the model, the data): all problems in one error."""
    from mlci.repo.git import resolve

    problems: list[MlciError] = []
    name, model = opts.name, None
    try:
        name, model = choose_model(ctx, opts.name)
    except MlciError as exc:
        problems.append(exc)
    if opts.current:
        problems += _data_problems(ctx, opts.current, "--current")
    else:
        problems.append(
            MlciError(
                "no current data to monitor: --current is not given and monitor.current is not set in mlci.yaml",
                "pass --current PATH, or set monitor.current in mlci.yaml (what the action's `command: auto` "
                "monitors on a schedule)",
            )
        )
    commit = resolve(ctx.root, "HEAD") if ctx.in_repo else None
    if opts.reference_profile:
        if not Path(opts.reference_profile).is_file():
            problems.append(
                MlciError(
                    f"reference profile {opts.reference_profile} not found",
                    "write one with --save-profile FILE",
                )
            )
    elif opts.reference:
        revision = ctx.in_repo and commit is not None and resolve(ctx.root, opts.reference) is not None
        if not revision and _data_problems(ctx, opts.reference, "--reference"):
            problems.append(
                MlciError(
                    f"--reference {opts.reference!r} is neither a data file, glob or folder nor a git revision",
                    "pass a CSV/Parquet path, or a commit/tag/branch at which to read the training data",
                )
            )
    elif not any(p.message.startswith(("no model named", "mlci.yaml has")) for p in problems):
        if model is None or not model.data:
            problems.append(
                MlciError(
                    f"no reference data: models.{name or 'NAME'}.data is not set in mlci.yaml",
                    "set the model's training data in mlci.yaml, or pass --reference PATH",
                )
            )
        elif not ctx.in_repo:
            problems.append(_no_repo("the training data is read at the production commit"))
        elif commit is None:
            problems.append(_no_commit("the training data is read at the production commit"))
    if opts.open_pr and not ctx.in_repo:
        problems.append(_no_repo("--open-pr opens a pull request from this repository"))
    elif opts.open_pr and commit is None:
        problems.append(_no_commit("--open-pr opens a pull request from a commit"))
    if len(problems) == 1:
        raise problems[0]
    if problems:
        hints = list(dict.fromkeys(p.hint for p in problems if p.hint))
        raise MlciError(
            f"{len(problems)} problems with the inputs:\n" + "\n".join(f"  - {p.message}" for p in problems),
            "; ".join(hints) or None,
        )
    return name, model


def _no_repo(why: str) -> MlciError:
    return MlciError(
        f"{Path.cwd().name or '.'} is not inside a git repository: {why}",
        "pass --reference FILE to compare two files anywhere, or run in your project's checkout (-C PATH)",
    )


def _no_commit(why: str) -> MlciError:
    return MlciError(
        f"this git repository has no commits yet: {why}",
        "commit the project first (`git add` and `git commit`), or pass --reference FILE",
    )


def _data_problems(ctx: RunContext, spec: str, option: str) -> list[MlciError]:
    """Why `spec` names no data here: [] when it names local files or may be a DVC-tracked path."""
    from mlci.repo.tables import local_files

    try:
        if local_files(spec, Path.cwd()) is not None:
            return []
        if not Path(spec).is_absolute() and local_files(spec, ctx.root) is not None:
            return []
    except MlciError as exc:
        return [exc]
    if ctx.in_repo and _maybe_dvc_tracked(ctx.root, spec):
        return []  # DVC decides (and says so) when the data is read
    where = "not a local file, glob or folder" + (", nor a DVC-tracked path" if ctx.in_repo else "")
    return [
        MlciError(
            f"no data at {spec} ({option}): {where}",
            "give a CSV/Parquet file, a glob (quoted) or a folder; a DVC path must be tracked",
        )
    ]


def _maybe_dvc_tracked(root: Path, spec: str) -> bool:
    """Whether DVC could know `spec`: a `.dvc` file for it or a folder above it, or a dvc.yaml /
    dvc.lock that names it or a folder above it. Cheap; a yes is checked by DVC when reading."""
    if not (root / ".dvc").is_dir() or any(ch in spec for ch in "*?["):
        return False
    path = Path(spec) if Path(spec).is_absolute() else Path.cwd() / spec
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    chain = [relative, *list(relative.parents)[:-1]]
    if any((root / f"{p.as_posix()}.dvc").is_file() for p in chain):
        return True
    texts = []
    for folder in [Path("."), *reversed(chain[1:])]:
        for name in ("dvc.yaml", "dvc.lock"):
            file = root / folder / name
            if file.is_file():
                texts.append(file.read_text(encoding="utf-8", errors="replace"))
    return any(p.as_posix() in text for p in chain for text in texts)


def choose_model(ctx: RunContext, name: str) -> tuple[str, ModelConfig | None]:
    if not name and not ctx.config.models:
        return "", None  # compare data alone: no model, no prediction drift or decay
    return ctx.config.model(name, verb="monitor")


def production(ctx: RunContext, name: str) -> Production:
    """The commit of the version in production, from the registry; HEAD when there is none."""
    from mlci.repo.git import resolve

    if not ctx.in_repo:
        return Production("", None, "none", "not in a git repository: the given files are compared")
    head = resolve(ctx.root, "HEAD")
    if head is None:
        return Production("", None, "none", "this git repository has no commits yet: no model version")
    stage = ctx.config.deploy.stage
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
    from mlci.repo.tables import open_data, plain

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
        for i, batch in enumerate(data.batches(monitor.chunk_rows, dictionary=True)):
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
                scorer.add(plain(batch).to_pandas(), labels, score)
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
        write_output_atomic(opts.output, chosen)
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
