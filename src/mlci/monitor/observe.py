"""The monitoring pass (`watch`): the reference, then one pass over the current data: the data profile, the production model's predictions and, with
labels, its metrics (decay), chunk by chunk; then the comparisons with the reference."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.errors import MlciError
from mlci.monitor.inputs import Inputs, Observed, Production

if TYPE_CHECKING:
    import pyarrow as pa

    from mlci.config import Config, ModelConfig
    from mlci.drift.profile import Profile, ProfileBuilder
    from mlci.monitor.partition import Merged, Share
    from mlci.monitor.reference import Reference
    from mlci.monitor.report import Verdict
    from mlci.repo.revision import SharedRepo
    from mlci.repo.tables import Data


@dataclass
class _Pass:
    """The builders one pass feeds; the model parts drop out when the model cannot score the data."""

    data: ProfileBuilder
    prediction: ProfileBuilder | None
    model: Any | None
    target: str
    scorer: Any | None = None
    model_note: str = ""
    notes: list[str] = field(default_factory=list)


def observe(
    root: Path,
    config: Config,
    spec: str,
    ref: Reference,
    model: ModelConfig | None,
    repo: SharedRepo | None = None,
    where: tuple[str, ...] = (),
) -> Observed:
    """Read the current data `spec` once (chunks of monitor.chunk_rows) and compare it with `ref`;
    `repo`: the run's one DVC Repo (a DVC-tracked `spec`, the recorded metrics); `where`: conditions on
    its partition folders (--where)."""
    from mlci.repo.tables import open_data

    run = _start(ref, model)
    with open_data(root, spec, cwd=Path.cwd(), repo=repo, where=where) as data:
        paths = _paths(root, spec, data)
        _feed(config, run, ref, data)
    current = run.data.finish({"spec": spec})
    predicted = run.prediction.finish() if run.prediction is not None else None
    return _compare(root, config, spec, ref, model, run, paths, repo, current, predicted)


def observe_share(
    root: Path,
    config: Config,
    spec: str,
    ref: Reference,
    model: ModelConfig | None,
    share: Share,
    files: Sequence[str] = (),
    repo: SharedRepo | None = None,
    *,
    where: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One share of the current data's files (or the given `files`) read as `observe` reads them all:
    its partition profile (mlci.monitor.partition) for `mlci monitor --profiles` to decide on. `where`:
    the --where / monitor.where conditions, applied before the files are split into shares."""
    from contextlib import ExitStack

    from mlci.monitor import partition
    from mlci.repo.tables import open_data

    run = _start(ref, model)
    with ExitStack() as stack:
        if files:  # each opened as --current would open it, read in the order given
            opened = [stack.enter_context(open_data(root, f, cwd=Path.cwd(), repo=repo)) for f in files]
            data = _joined(opened, ", ".join(files))
        else:
            whole = open_data(root, spec, cwd=Path.cwd(), repo=repo, where=where)
            data = _narrowed(stack.enter_context(whole), share)
        shown = _paths(root, spec, data)
        _feed(config, run, ref, data)
    return partition.document(
        model=ref.name,
        reference=partition.reference_id(ref.profile, ref.prediction),
        current=", ".join(files) if files else spec,
        share=share,
        files=shown,
        data=run.data.finish({"spec": spec}),
        prediction=run.prediction.finish() if run.prediction is not None else None,
        labels=run.scorer.state() if run.scorer is not None else None,
        notes=run.notes,
        model_note=run.model_note,
    )


def observe_profiles(
    root: Path,
    config: Config,
    merged: Merged,
    ref: Reference,
    model: ModelConfig | None,
    repo: SharedRepo | None = None,
) -> Observed:
    """The shares' merged profiles compared with `ref`, as `observe` compares one pass over every file."""
    from mlci.monitor.model import Scorer

    run = _start(ref, model)
    run.notes, run.model_note = list(merged.notes), merged.model_note
    if merged.model_note:
        run.model, run.prediction = None, None
    if merged.labels is not None and run.model is not None:
        run.scorer = Scorer.restore(run.model, run.target, merged.labels)
        run.scorer.notes = []
    return _compare(
        root, config, merged.current, ref, model, run, merged.files, repo, merged.data, merged.prediction
    )


def _paths(root: Path, spec: str, data: Data) -> list[str]:
    """The files read, for the report: URLs as listed, local files as `_shown`, a DVC path as given."""
    if data.hashes and data.store is None:
        return [spec]
    return [p if isinstance(p, str) else _shown(root, p) for p in data.files]


def _feed(config: Config, run: _Pass, ref: Reference, data: Data) -> None:
    from mlci.drift import engine as drift

    for i, batch in enumerate(data.batches(config.monitor.chunk_rows, dictionary=True)):
        if i == 0:  # a wholly different table is an input error, before the model sees it
            reference_columns = [n for n in ref.profile.columns if n != run.target]
            drift.check_columns(reference_columns, [n for n in batch.schema.names if n != run.target])
        run.data.add(batch)
        _score(run, batch)


def _narrowed(data: Data, share: Share) -> Data:
    """The share's block of `data`'s files (its temporary folder stays the whole's, removed with it)."""
    from dataclasses import replace

    from mlci.monitor.partition import share_files

    chosen = share_files(list(range(len(data.files))), share)
    return replace(
        data,
        files=[data.files[i] for i in chosen],
        names=[data.names[i] for i in chosen] if data.names else [],
        hashes=[data.hashes[i] for i in chosen] if data.hashes else [],
        _tmp=None,
    )


def _joined(opened: Sequence[Data], spec: str) -> Data:
    from mlci.repo.tables import Data

    files = [f for d in opened for f in d.files]
    names = [
        d.names[i] if i < len(d.names) else Path(str(f)).name for d in opened for i, f in enumerate(d.files)
    ]
    return Data(spec, files, names=names)


def _start(ref: Reference, model: ModelConfig | None) -> _Pass:
    from mlci.drift.profile import ProfileBuilder

    data = ProfileBuilder(ref.profile.settings, reference=ref.profile)
    prediction = None
    if ref.prediction is not None and ref.model is not None:
        prediction = ProfileBuilder(ref.prediction.settings, reference=ref.prediction)
    return _Pass(data, prediction, ref.model, model.target if model else "")


def _score(run: _Pass, batch: pa.RecordBatch) -> None:
    """The model's predictions of one chunk into the prediction profile and, with labels, the scorer."""
    from mlci.monitor import model as monitor_model
    from mlci.repo.tables import plain

    if run.model is None:
        return
    frame = monitor_model.features(batch, run.target)
    try:
        labels, score = monitor_model.predict(run.model, frame)
    except MlciError as exc:  # e.g. a feature is missing: still report the data drift
        run.model_note = exc.message
        run.notes.append(f"prediction drift and decay not checked: {exc.message}")
        run.model, run.prediction, run.scorer = None, None, None
        return
    if run.prediction is not None:
        run.prediction.add(monitor_model.prediction_batch_from(labels, score))
    if run.target and run.target in batch.schema.names:
        run.scorer = run.scorer or monitor_model.Scorer(run.model, run.target)
        run.scorer.add(plain(batch).to_pandas(), labels, score)


def _compare(
    root: Path,
    config: Config,
    spec: str,
    ref: Reference,
    model: ModelConfig | None,
    run: _Pass,
    paths: list[str],
    repo: SharedRepo | None,
    current: Profile,
    predicted: Profile | None,
) -> Observed:
    from mlci.drift import engine as drift

    thresholds = drift.Thresholds.from_config(config.monitor)
    result = drift.compare(ref.profile, current, thresholds, exclude={run.target} if run.target else ())
    prediction = None
    if predicted is not None and predicted.rows and ref.prediction is not None:
        prediction = drift.compare(ref.prediction, predicted, thresholds)
    decay = None
    if run.scorer is not None:
        decay = _decay(root, config, ref, run.scorer, model, repo)
    elif run.model is not None and run.target:
        run.notes.append(f"no performance decay check: the current data has no label column {run.target!r}")
    observed = Observed(result, prediction, decay, paths, spec, current.rows, run.notes, run.model_note)
    observed.target = run.target
    return observed


def _decay(
    root: Path,
    config: Config,
    ref: Reference,
    scorer: Any,
    model: ModelConfig | None,
    repo: SharedRepo | None,
) -> Any:
    from mlci.monitor import decay
    from mlci.monitor.labels import LabelMismatch

    labelled = sum(len(t) for t in scorer.truth)
    try:
        computed = scorer.metrics()
    except LabelMismatch as exc:  # the decay's reason; exit 2 once the report is written
        return decay.Decay(labelled, notes=scorer.notes, error=exc)
    recorded = decay.recorded_metrics(root, ref.model_commit, model.metrics if model else (), repo)
    found = decay.evaluate(recorded, computed, labelled, config, ref.name)
    found.notes[:0] = scorer.notes
    return found


def _shown(root: Path, path: Path) -> str:
    """Paths in the report: relative to the working folder when inside it, as given otherwise."""
    for base in (Path.cwd(), root):
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


def watch(root: Path, config: Config, inputs: Inputs, prod: Production, *, cache: bool = True) -> Verdict:
    """The whole monitoring pass for checked `inputs`: the reference (profile, model), one pass over the
    current data, the verdict. `cache`: keep reference profiles under monitor.profile_dir."""
    from mlci.monitor.reference import load_reference
    from mlci.monitor.report import judge
    from mlci.repo.revision import SharedRepo

    with SharedRepo(root) as repo:  # one DVC Repo per run, opened only if DVC is needed
        ref = load_reference(root, config, inputs, prod.commit, cache=cache, repo=repo)
        try:
            if inputs.options.profiles:
                observed = _decide_on_profiles(root, config, inputs, ref, repo)
            else:
                observed = observe(
                    root, config, inputs.options.current, ref, inputs.model, repo, inputs.options.where
                )
        finally:
            ref.close()
    return judge(config, inputs.name, prod, ref, observed)


def _decide_on_profiles(
    root: Path, config: Config, inputs: Inputs, ref: Reference, repo: SharedRepo
) -> Observed:
    """--profiles: the partition profiles checked against this reference, merged, compared."""
    from mlci.monitor import partition

    paths = partition.expand(inputs.options.profiles)
    docs = partition.read_partitions(paths, partition.reference_id(ref.profile, ref.prediction), inputs.name)
    merged = partition.merge_partitions(docs, ref.profile, ref.prediction)
    return observe_profiles(root, config, merged, ref, inputs.model, repo)
