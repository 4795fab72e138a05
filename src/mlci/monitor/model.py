"""The production model in monitoring: its predictions (prediction drift) and its metrics on labelled
current data (performance decay), chunk by chunk.

The model artifact is read through DVC at the production commit: the pickle the repository's own
pipeline wrote and registered. Unpickling runs code, so this trusts the repository's DVC remote
exactly as training and deployment already do.
"""

from __future__ import annotations

import math
import os
import pickle
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.errors import MlciError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from mlci.monitor.labels import Aligned
    from mlci.repo.revision import SharedRepo

PREDICTION = "prediction"
SCORE = "score"  # classifiers: probability of the positive class (binary) or of the predicted class


def load_model(root: Path, path: str, rev: str | None, repo: SharedRepo | None = None) -> Any:
    """Unpickle the model artifact `path` at `rev` through DVC (local cache, else the remote); with the
    run's one DVC `repo` when given. With MLCI_PROJECT_ENV set, the pickle is unpickled and scored by
    the project's own Python, never in this process (mlci.monitor.project_model)."""
    from mlci.repo.dvc import PROJECT_ENV

    where = f"{path} at {rev[:12]}" if rev else path
    project = os.environ.get(PROJECT_ENV, "")
    try:
        with _open_artifact(root, path, rev, repo) as handle:
            if project:
                from mlci.monitor.project_model import open_model

                return open_model(project, handle.read(), where)
            return pickle.load(handle)
    except (FileNotFoundError, IsADirectoryError):
        _raise_remote_failure(root, path, rev)
        raise MlciError(
            f"model artifact {where} not found",
            "check models.<name>.path in mlci.yaml and that the model was trained and pushed (`dvc push`)",
        ) from None
    except (pickle.UnpicklingError, AttributeError, ModuleNotFoundError, EOFError) as exc:
        raise MlciError(
            f"cannot load the model {where}: {type(exc).__name__}: {exc}",
            "monitoring needs the Python packages the model was pickled with (same scikit-learn)",
        ) from None
    except MlciError:
        raise
    except Exception as exc:
        _raise_remote_failure(root, path, rev)
        raise MlciError(f"cannot read the model {where} through DVC: {exc}") from None


@contextmanager
def _open_artifact(root: Path, path: str, rev: str | None, repo: SharedRepo | None) -> Iterator[Any]:
    if repo is not None:
        from mlci.repo.revision import at_revision

        with at_revision(repo.get(), rev) as files, files.open(path, mode="rb") as handle:
            yield handle
        return
    from dvc.api import open as dvc_open

    from mlci.repo.remote import offline_config

    config = offline_config(root)  # an unreachable remote: the cache alone, and the probe's error
    with dvc_open(path, repo=str(root), rev=rev, mode="rb", config=config) as handle:
        yield handle


def _raise_remote_failure(root: Path, path: str, rev: str | None) -> None:
    """The model is a DVC output: when DVC could not read it, say which remote failed and how."""
    from mlci.repo.remote import read_failure

    failure = read_failure(root, path, rev)
    if failure is not None:
        raise failure


def is_classifier(model: Any) -> bool:
    return hasattr(model, "predict_proba") and hasattr(model, "classes_")


def predict(model: Any, frame: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Predicted labels (or values) and, for classifiers, the score of the positive/predicted class."""
    import numpy as np

    try:
        if not is_classifier(model):
            return np.asarray(model.predict(frame)), None
        proba = np.asarray(model.predict_proba(frame))
    except (ValueError, KeyError, TypeError) as exc:
        raise MlciError(
            f"the production model cannot score the data: {type(exc).__name__}: {str(exc)[:300]}",
            _columns_hint(model, frame),
        ) from None
    classes = np.asarray(model.classes_)
    labels = classes[proba.argmax(axis=1)]
    score = proba[:, 1] if proba.shape[1] == 2 else proba.max(axis=1)
    return labels, score


def _columns_hint(model: Any, frame: Any) -> str:
    """What to change when the data's columns differ from those the model was fitted on (scikit-learn's
    `feature_names_in_`): a column too many is most often the label, which mlci.yaml names."""
    fitted = [str(c) for c in getattr(model, "feature_names_in_", [])]
    given = [str(c) for c in getattr(frame, "columns", [])]
    extra = [c for c in given if c not in fitted]
    if fitted and extra and set(fitted) <= set(given):
        names = ", ".join(extra[:5])
        return (
            f"the data has column(s) the model was not fitted on: {names}; if one is the label, name it "
            f"in mlci.yaml (`models.NAME.target: {extra[0]}`), else leave it out of the data"
        )
    missing = [c for c in fitted if c not in given]
    if missing:
        return f"the data lacks column(s) the model was fitted on: {', '.join(missing[:5])}"
    return "the data must have the columns (and types) the model was trained on"


def prediction_batches(
    model: Any, batches: Iterable[pa.RecordBatch], target: str
) -> Iterator[pa.RecordBatch]:
    """The model's predictions on each batch, as a batch of `prediction` (and `score`) columns."""
    for batch in batches:
        yield prediction_batch(model, features(batch, target))


def features(batch: pa.RecordBatch, target: str) -> Any:
    from mlci.repo.tables import plain

    frame = plain(batch).to_pandas()
    return frame.drop(columns=[target]) if target and target in frame.columns else frame


def prediction_batch(model: Any, frame: Any) -> pa.RecordBatch:
    return prediction_batch_from(*predict(model, frame))


def prediction_batch_from(labels: np.ndarray, score: np.ndarray | None) -> pa.RecordBatch:
    """`prediction` (numeric for regression, else text) and `score` columns."""
    import pyarrow as pa

    columns: dict[str, Any] = {}
    if labels.dtype.kind in "fc" and score is None:
        columns[PREDICTION] = pa.array(labels.astype(float))
    else:
        columns[PREDICTION] = pa.array([_label(v) for v in labels], pa.string())
    if score is not None:
        columns[SCORE] = pa.array(score.astype(float))
    return pa.record_batch(columns)


def _label(value: Any) -> str:
    # 1.0 and 1 are the same class: CSV integers are read as floats
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class Scorer:
    """Labels and predictions of the current data, gathered per chunk: 3 numbers a row."""

    def __init__(self, model: Any, target: str) -> None:
        self.model = model
        self.target = target
        self.truth: list[Any] = []
        self.labels: list[Any] = []
        self.scores: list[Any] = []
        self.rows = 0  # rows with the label column, labelled or not
        self.notes: list[str] = []  # what was mapped or left out (`mlci.monitor.labels`)

    def add(self, frame: Any, labels: np.ndarray, score: np.ndarray | None) -> None:
        truth = frame[self.target].to_numpy()
        self.rows += len(truth)
        keep = ~_isnull(truth)
        self.truth.append(truth[keep])
        self.labels.append(labels[keep])
        if score is not None:
            self.scores.append(score[keep])

    def state(self) -> dict[str, Any]:
        """What a share's labels and predictions are carried as (JSON: a partition profile's `labels`)."""
        import numpy as np

        def joined(parts: list[Any]) -> list[Any]:
            return np.concatenate(parts).tolist() if parts else []

        scores = joined(self.scores) if self.scores else None
        return {
            "rows": self.rows,
            "truth": joined(self.truth),
            "labels": joined(self.labels),
            "scores": scores,
        }

    @classmethod
    def restore(cls, model: Any, target: str, state: dict[str, Any]) -> Scorer:
        """A scorer holding the labels and predictions of `state` (`Scorer.state`, shares joined)."""
        scorer = cls(model, target)
        scorer.rows = int(state["rows"])
        scorer.truth = [_array(state["truth"])]
        scorer.labels = [_array(state["labels"])]
        if state.get("scores") is not None:
            scorer.scores = [_array(state["scores"])]
        return scorer

    def metrics(self) -> dict[str, float]:
        """Metrics under the names evaluate scripts commonly record (accuracy, f1, roc_auc, ...)."""
        import numpy as np

        truth = np.concatenate(self.truth) if self.truth else np.empty(0)
        if not len(truth):
            self.notes.append(
                f"the label column {self.target!r} has no values in the {self.rows} current rows"
            )
            return {}
        labels = np.concatenate(self.labels)
        if self.rows > len(truth):
            self.notes.append(f"{self.rows - len(truth)} of {self.rows} rows have no label yet: left out")
        if is_classifier(self.model):
            from mlci.monitor.labels import align

            aligned = align(truth, np.asarray(self.model.classes_), self.target)
            self.notes += aligned.notes
            score = np.concatenate(self.scores) if self.scores else None
            return _classification(aligned, labels, score, np.asarray(self.model.classes_))
        return _regression(_numbers(truth, self.target), labels.astype(float))


def _array(values: list[Any]) -> np.ndarray:
    """JSON values back as an array: text stays object (as pandas gave it), numbers numeric."""
    import numpy as np

    if any(isinstance(v, str) for v in values):
        return np.asarray(values, dtype=object)
    return np.asarray(values)


def _isnull(values: np.ndarray) -> np.ndarray:
    import numpy as np
    import pandas as pd

    return np.asarray(pd.isna(values))


def _classification(aligned: Aligned, labels: Any, score: Any, classes: Any) -> dict[str, float]:
    """Accuracy on every labelled row (a class the model never saw is an error); the rest on the rows
    whose class the model has, so a new class in production feedback never stops the report."""
    import numpy as np
    from sklearn import metrics

    truth, known = aligned.truth, aligned.known
    out = {"accuracy": float(np.mean(truth == labels))}
    binary = len(classes) == 2
    kwargs: dict[str, Any] = {"average": "binary" if binary else "macro", "zero_division": 0}
    if binary:
        kwargs["pos_label"] = classes[1]
    t, p = truth[known], labels[known]
    if len(t):
        out["precision"] = float(metrics.precision_score(t, p, **kwargs))
        out["recall"] = float(metrics.recall_score(t, p, **kwargs))
        out["f1"] = float(metrics.f1_score(t, p, **kwargs))
    if binary and score is not None and len(np.unique(t)) == 2:
        positive = (t == classes[1]).astype(int)
        kept = score[known]
        out["roc_auc"] = float(metrics.roc_auc_score(positive, kept))
        out["log_loss"] = float(metrics.log_loss(positive, np.clip(kept, 1e-15, 1 - 1e-15), labels=[0, 1]))
    return {k: v for k, v in out.items() if math.isfinite(v)}


def _numbers(truth: Any, column: str) -> Any:
    """A regressor's labels as numbers (text such as "3.5" read as a number), else exit 2."""
    import numpy as np

    from mlci.monitor.labels import LabelMismatch

    try:
        return np.asarray([float(str(v).strip()) if isinstance(v, str) else float(v) for v in truth])
    except (TypeError, ValueError):
        shown = ", ".join(sorted({repr(str(v)) for v in truth})[:6])
        raise LabelMismatch(
            f"the label column {column!r} holds values that are not numbers ({shown}) while the model is a "
            "regressor",
            f"write numbers in {column!r}; the drift report above was still written",
        ) from None


def _regression(truth: Any, predicted: Any) -> dict[str, float]:
    from sklearn import metrics

    mse = float(metrics.mean_squared_error(truth, predicted))
    return {
        "mae": float(metrics.mean_absolute_error(truth, predicted)),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "r2": float(metrics.r2_score(truth, predicted)),
    }
