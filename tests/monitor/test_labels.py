"""Labels as production gives them (`mlci.monitor.labels`), through `mlci monitor` on the trained example
(a binary classifier of integer classes 0 and 1): a class the model never saw, labels written as text,
rows without a label, a window of one class, no label column. scikit-learn is the oracle of every metric."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from tests.testing.fixtures import ExampleRepo, run_cli

TEST_CSV = "data/prepared/test.csv"


def _run(repo: ExampleRepo, frame: pd.DataFrame, suffix: str = ".parquet") -> tuple[Any, dict[str, Any]]:
    path = repo.root.parent / f"current{suffix}"
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    output = repo.root.parent / "report.json"
    proc = run_cli(
        "monitor", "--current", str(path), "--format", "json", "--output", str(output), cwd=repo.root
    )
    return proc, json.loads(output.read_text()) if output.exists() else {}


def _predictions(repo: ExampleRepo, frame: pd.DataFrame) -> np.ndarray:
    import pickle

    with open(repo.root / "models" / "model.pkl", "rb") as f:
        model = pickle.load(f)
    return np.asarray(model.predict(frame.drop(columns=["target"])))


def _metric(report: dict[str, Any], name: str) -> float | None:
    return next((m["current"] for m in report["decay"]["metrics"] if m["key"].endswith(f".{name}")), None)


def test_a_class_the_model_never_saw_is_an_error_in_accuracy_and_not_a_crash(
    example_repo: ExampleRepo,
) -> None:
    frame = pd.read_csv(example_repo.root / TEST_CSV)
    frame.loc[:9, "target"] = 2  # a new class in production feedback
    proc, report = _run(example_repo, frame)
    assert proc.returncode == 0, proc.stderr
    predicted = _predictions(example_repo, frame)
    assert _metric(report, "accuracy") == pytest.approx(metrics.accuracy_score(frame["target"], predicted))
    known = frame["target"].to_numpy() != 2
    expected_f1 = metrics.f1_score(frame["target"][known], predicted[known])
    assert _metric(report, "f1") == pytest.approx(expected_f1)
    assert any(
        "10 labelled row(s) hold class(es) the model never saw ('2')" in n for n in report["decay"]["notes"]
    )


@pytest.mark.parametrize("written", [["0", "1"], [" 0.0", "1.0 "]])
def test_numbers_written_as_text_are_read_as_the_models_classes(
    example_repo: ExampleRepo, written: list[str]
) -> None:
    frame = pd.read_csv(example_repo.root / TEST_CSV)
    as_text = frame.assign(target=np.where(frame["target"] == 1, written[1], written[0]))
    proc, report = _run(example_repo, as_text)
    assert proc.returncode == 0, proc.stderr
    predicted = _predictions(example_repo, frame)
    assert _metric(report, "accuracy") == pytest.approx(metrics.accuracy_score(frame["target"], predicted))
    assert _metric(report, "roc_auc") is not None
    assert any("read as numbers" in n for n in report["decay"]["notes"])


def test_text_labels_that_cannot_be_mapped_are_exit_2_naming_values_and_classes(
    example_repo: ExampleRepo,
) -> None:
    frame = pd.read_csv(example_repo.root / TEST_CSV)
    frame["target"] = np.where(frame["target"] == 1, "malignant", "benign")
    proc, report = _run(example_repo, frame)
    assert proc.returncode == 2, proc.stderr
    assert "label column 'target'" in proc.stderr and "'benign', 'malignant'" in proc.stderr
    assert "'0', '1'" in proc.stderr and "Traceback" not in proc.stderr
    assert report["dataset"]["columns_compared"] > 0  # drift was still reported
    assert report["decay"]["available"] is False and "'benign', 'malignant'" in report["decay"]["note"]


def test_missing_labels_and_a_one_class_window(example_repo: ExampleRepo) -> None:
    frame = pd.read_csv(example_repo.root / TEST_CSV)
    ones = frame[frame["target"] == 1].copy()
    ones["target"] = ones["target"].astype(float)
    ones.iloc[: len(ones) // 2, ones.columns.get_loc("target")] = np.nan
    proc, report = _run(example_repo, ones, ".csv")
    assert proc.returncode == 0, proc.stderr
    labelled = ones["target"].notna().to_numpy()
    assert report["decay"]["labelled_rows"] == int(labelled.sum())
    predicted = _predictions(example_repo, ones.fillna({"target": 1}))
    expected = metrics.accuracy_score(ones["target"][labelled], predicted[labelled])
    assert _metric(report, "accuracy") == pytest.approx(expected)
    assert _metric(report, "roc_auc") is None  # not defined on one class
    notes = report["decay"]["notes"]
    assert any("one class only" in n for n in notes) and any("have no label yet" in n for n in notes)


def test_without_labels_the_decay_section_names_the_true_reason(example_repo: ExampleRepo) -> None:
    frame = pd.read_csv(example_repo.root / TEST_CSV).drop(columns=["target"])
    proc, report = _run(example_repo, frame)
    assert proc.returncode == 0, proc.stderr
    assert report["prediction_drift"]["available"] is True  # the production model was there
    assert report["decay"]["note"] == "the current data has no label column 'target'"
    unlabelled = pd.read_csv(example_repo.root / TEST_CSV).assign(target=np.nan)
    proc, report = _run(example_repo, unlabelled, ".csv")
    assert proc.returncode == 0, proc.stderr
    assert any("has no values" in n for n in report["decay"]["notes"])


def test_label_alignment_on_its_own() -> None:
    from mlci.monitor.labels import LabelMismatch, align

    classes = np.array(["no", "yes"], dtype=object)
    aligned = align(np.array(["Yes", "NO", "yes"], dtype=object), classes, "y")
    assert aligned.truth.tolist() == ["yes", "no", "yes"] and aligned.known.all()
    with pytest.raises(LabelMismatch, match=r"'y'.*\('0', '1'\).*\('no', 'yes'\)"):
        align(np.array([0, 1, 1]), classes, "y")
    floats = align(np.array([0.0, 1.0, 3.0]), np.array([0, 1]), "y")
    assert floats.truth.tolist() == [0, 1, 3] and floats.known.tolist() == [True, True, False]
