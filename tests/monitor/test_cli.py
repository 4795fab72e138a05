"""`mlci monitor` end to end on the trained example project: a real DVC repo and a real model."""

from __future__ import annotations

import json
import pickle
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn import metrics

from tests.testing.fixtures import ExampleRepo, actions_env, load_event, read_outputs, run_cli

TEST_CSV = "data/prepared/test.csv"


def monitor(repo: ExampleRepo, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_cli("monitor", *args, cwd=repo.root, env=env)


def json_report(repo: ExampleRepo, *args: str) -> dict[str, Any]:
    proc = monitor(repo, *args, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def flipped(repo: ExampleRepo, share: float) -> Path:
    """The test split with the first `share` of its labels flipped: the model looks worse."""
    frame = pd.read_csv(repo.root / TEST_CSV)
    n = int(len(frame) * share)
    frame.loc[: n - 1, "target"] = 1 - frame.loc[: n - 1, "target"]
    path = repo.root.parent / "labelled.csv"
    frame.to_csv(path, index=False)
    return path


def test_no_drift_on_the_held_out_split_and_the_recorded_metrics_are_reproduced(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    env = actions_env(tmp_path / "gh", "workflow_dispatch", load_event("workflow_dispatch/default-branch"))
    proc = monitor(example_repo, "classifier", "--current", TEST_CSV, env=env)
    assert proc.returncode == 0, proc.stderr
    outputs = read_outputs(tmp_path / "gh" / "output")
    assert outputs["drift-detected"] == "false"
    assert outputs["retrain-needed"] == "false"
    summary = (tmp_path / "gh" / "summary").read_text()
    assert "## mlci monitor: `classifier`" in summary
    assert "no retraining needed" in summary
    assert summary == proc.stdout  # the job summary is the markdown report

    report = json_report(example_repo, "--current", TEST_CSV)
    recorded = json.loads(example_repo.dvc("metrics", "show", "--json"))
    values = next(iter(recorded.values()))["data"]["metrics.json"]["data"]["test"]
    computed = {m["key"]: m["current"] for m in report["decay"]["metrics"]}
    assert computed == pytest.approx({f"test.{k}": v for k, v in values.items()})
    assert report["decay"]["gate_failed"] is False
    assert report["prediction_drift"]["available"] and not report["prediction_drift"]["drift_detected"]
    assert report["production"]["source"] == "HEAD"  # nothing is deployed: HEAD, and the report says so
    assert "no version of classifier is in stage 'prod': using HEAD" in report["notes"]


def test_decay_fails_the_gate_and_asks_for_retraining(example_repo: ExampleRepo, tmp_path: Path) -> None:
    labelled = flipped(example_repo, 0.3)
    env = actions_env(tmp_path / "gh", "schedule", {"schedule": "0 5 * * *"})
    proc = monitor(example_repo, "--current", str(labelled), "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr  # decay is a finding, not a failure
    report = json.loads(proc.stdout)
    outputs = read_outputs(tmp_path / "gh" / "output")
    assert outputs["retrain-needed"] == "true"
    assert report["retrain_needed"] is True
    assert report["drift_detected"] is False  # the features did not change, only the labels
    assert [f["metric"] for f in report["decay"]["failed"]] == ["test.accuracy", "test.log_loss"]

    with open(example_repo.root / "models/model.pkl", "rb") as handle:
        model = pickle.load(handle)
    frame = pd.read_csv(labelled)
    expected = metrics.accuracy_score(frame["target"], model.predict(frame.drop(columns=["target"])))
    accuracy = next(m for m in report["decay"]["metrics"] if m["key"] == "test.accuracy")
    assert accuracy["current"] == pytest.approx(expected)
    assert "::warning title=mlci monitor::" in proc.stdout or "performance decayed" in report["summary"]


def test_shifted_features_drift_and_so_do_the_predictions(example_repo: ExampleRepo) -> None:
    frame = pd.read_csv(example_repo.root / TEST_CSV).drop(columns=["target"])
    for column in ("mean_radius", "mean_perimeter", "mean_area", "mean_concavity", "mean_concave_points"):
        frame[column] = frame[column] * 1.8
    frame.to_parquet(example_repo.root.parent / "shifted.parquet")
    report = json_report(example_repo, "--current", str(example_repo.root.parent / "shifted.parquet"))
    assert set(report["dataset"]["drifted_columns"]) >= {"mean_radius", "mean_area", "mean_perimeter"}
    assert report["drift_detected"] is True and report["retrain_needed"] is True
    assert report["prediction_drift"]["drift_detected"] is True
    assert report["decay"]["available"] is False  # no labels in the current data
    assert report["current"]["paths"] == [str(example_repo.root.parent / "shifted.parquet")]
    assert report["schema_version"] == 1 and report["model"] == "classifier"


def test_markdown_report_has_tables_and_histograms(example_repo: ExampleRepo, tmp_path: Path) -> None:
    frame = pd.read_csv(example_repo.root / TEST_CSV)
    frame["mean_texture"] = frame["mean_texture"] + 8
    frame.to_csv(tmp_path / "current.csv", index=False)
    out = tmp_path / "report.md"
    proc = monitor(example_repo, "--current", str(tmp_path / "current.csv"), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "| `mean_texture` | numeric | ks-exact |" in text
    assert "```mermaid\nxychart-beta" in text
    assert 'title "mean_texture: reference (bars) vs current (line)' in text


def test_saved_reference_profile_needs_no_reference_data(example_repo: ExampleRepo, tmp_path: Path) -> None:
    profile = tmp_path / "reference.json"
    first = json_report(example_repo, "--current", TEST_CSV, "--save-profile", str(profile))
    again = json_report(example_repo, "--current", TEST_CSV)
    assert first["reference"]["cached"] is False and again["reference"]["cached"] is True
    # no model and no DVC data at all any more: the saved profile is all the reference there is
    example_repo.write(
        "mlci.yaml", "models:\n  classifier:\n    data: data/prepared/train.csv\n    target: target\n"
    )
    shutil.rmtree(example_repo.root / ".dvc" / "cache")
    shutil.rmtree(example_repo.remote)
    later = json_report(example_repo, "--current", TEST_CSV, "--reference-profile", str(profile))
    assert later["columns"] == first["columns"]
    assert later["reference"]["kind"] == "profile"
    assert later["prediction_drift"]["available"] is False


def test_reference_at_a_git_revision(example_repo: ExampleRepo) -> None:
    first = example_repo.head()
    example_repo.set_param("prepare.test_size", 0.5)
    example_repo.retrain("Half the data for testing")
    report = json_report(example_repo, "--current", TEST_CSV, "--reference", first)
    assert report["reference"]["rev"] == first
    example_repo.dvc("get", ".", "data/prepared/train.csv", "--rev", first, "-o", "../old.csv")
    old_rows = len(pd.read_csv(example_repo.root.parent / "old.csv"))
    assert old_rows != len(pd.read_csv(example_repo.root / "data/prepared/train.csv"))
    assert report["reference"]["rows"] == old_rows


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: None, "no data at missing.csv"),
        (lambda d: (d / "missing.csv").write_text("a,b\n"), "the current data has no rows"),
        (lambda d: (d / "missing.csv").write_text("a,b\n1,2\n"), "does not look like the reference"),
    ],
)
def test_bad_current_data_is_exit_2_with_a_message(
    example_repo: ExampleRepo, make: Any, message: str
) -> None:
    make(example_repo.root)
    proc = monitor(example_repo, "--current", "missing.csv")
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "hint:" in proc.stderr
    assert not (example_repo.root / ".mlci" / "monitor").exists()


def test_current_data_defaults_to_monitor_current_in_mlci_yaml(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    """What the action's `command: auto` runs on a schedule: `mlci monitor` with no arguments, reading
    monitor.current (relative to the project, from any folder); without it, exit 2 saying what to set."""
    proc = monitor(example_repo)
    assert proc.returncode == 2
    assert "monitor.current is not set in mlci.yaml" in proc.stderr and "hint:" in proc.stderr
    config = (example_repo.root / "mlci.yaml").read_text()
    example_repo.write("mlci.yaml", config + f"monitor:\n  current: {TEST_CSV}\n")
    (example_repo.root / "src").mkdir(exist_ok=True)
    proc = run_cli("monitor", "--format", "json", cwd=example_repo.root / "src")
    assert proc.returncode == 0, proc.stderr
    configured, given = json.loads(proc.stdout), json_report(example_repo, "--current", TEST_CSV)
    assert configured["current"]["paths"] == given["current"]["paths"]
    assert configured["decay"] == given["decay"] and configured["dataset"] == given["dataset"]


def test_unknown_model_and_several_models(example_repo: ExampleRepo) -> None:
    proc = monitor(example_repo, "regressor", "--current", TEST_CSV)
    assert proc.returncode == 2
    assert "no model named 'regressor' in mlci.yaml (models: classifier)" in proc.stderr
    config = (example_repo.root / "mlci.yaml").read_text()
    example_repo.write("mlci.yaml", config.replace("models:\n", "models:\n  other:\n    path: x.pkl\n", 1))
    proc = monitor(example_repo, "--current", TEST_CSV)
    assert proc.returncode == 2
    assert "mlci.yaml has 2 models: say which one to monitor" in proc.stderr


def test_open_pr_hands_the_report_over_to_retraining(example_repo: ExampleRepo) -> None:
    labelled = flipped(example_repo, 0.3)
    proc = monitor(example_repo, "--current", str(labelled), "--open-pr")
    assert proc.returncode == 0, proc.stderr
    # no token: the retraining pull request goes to the outbox, its branch to origin
    body = (example_repo.root / ".mlci/outbox/pull-request-mlci-retrain-classifier.md").read_text()
    assert "test.accuracy" in body  # the decayed metric that asked for it
    assert example_repo.git("ls-remote", "origin", "refs/heads/mlci/retrain/classifier")


def test_without_a_model_and_with_hostile_column_names(tmp_path: Path) -> None:
    import numpy as np

    from mlci.repo.git import git

    root = tmp_path / "plain"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "commit", "-q", "--allow-empty", "-m", "empty")
    rng = np.random.default_rng(27)
    name = "x|<img src=y>`@octocat"
    pd.DataFrame({name: rng.normal(size=500), "ok": rng.normal(size=500)}).to_csv(
        root / "ref.csv", index=False
    )
    pd.DataFrame({name: rng.normal(2, 1, 400), "ok": rng.normal(size=400)}).to_csv(
        root / "cur.csv", index=False
    )
    proc = run_cli("monitor", "--reference", "ref.csv", "--current", "cur.csv", cwd=root)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    row = next(line for line in text.splitlines() if "octocat" in line and line.startswith("| "))
    # inside a code span (inert HTML and mention) with its pipe escaped: the row keeps its 8 cells
    assert row.startswith("| ``x\\|<img src=y>`@octocat`` | numeric |")
    assert len(re.split(r"(?<!\\)\|", row)) == 10
    assert "<summary>x|&lt;img src=y&gt;`@\u200doctocat</summary>" in text
    report = json.loads(
        run_cli(
            "monitor", "--reference", "ref.csv", "--current", "cur.csv", "--format", "json", cwd=root
        ).stdout
    )
    assert report["dataset"]["drifted_columns"] == [name]
    assert report["decay"]["available"] is False and report["prediction_drift"]["available"] is False


def test_the_reference_is_the_production_version_from_the_registry(example_repo: ExampleRepo) -> None:
    production = example_repo.head()
    example_repo.git("tag", "-a", "classifier@v0.1.0", "-m", "Registering classifier v0.1.0", production)
    example_repo.git(
        "tag", "-a", "classifier#prod#1", "-m", "Assigning stage prod to classifier v0.1.0", production
    )
    example_repo.set_param("prepare.test_size", 0.5)
    example_repo.retrain("Half the data for testing: not deployed")
    report = json_report(example_repo, "--current", TEST_CSV)
    assert report["production"] == {
        "version": "v0.1.0",
        "commit": production,
        "stage": "prod",
        "source": "registry",
    }
    example_repo.dvc("get", ".", "data/prepared/train.csv", "--rev", production, "-o", "../prod.csv")
    assert report["reference"]["rows"] == len(pd.read_csv(example_repo.root.parent / "prod.csv"))
    assert report["reference"]["model_commit"] == production


def test_a_missing_feature_is_listed_and_the_model_checks_say_why_they_did_not_run(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    frame = pd.read_csv(example_repo.root / TEST_CSV).drop(columns=["mean_texture"])
    frame.to_csv(tmp_path / "current.csv", index=False)
    report = json_report(example_repo, "--current", str(tmp_path / "current.csv"))
    assert report["schema"]["missing"] == ["mean_texture"]
    assert report["prediction_drift"]["available"] is False
    assert "columns are missing" in report["prediction_drift"]["note"]
    assert report["decay"]["available"] is False
    assert any(n.startswith("prediction drift and decay not checked") for n in report["notes"])


def test_current_data_as_a_dvc_tracked_path_that_is_not_pulled(example_repo: ExampleRepo) -> None:
    frame = pd.read_csv(example_repo.root / TEST_CSV)
    frame["mean_texture"] = frame["mean_texture"] + 8
    example_repo.write("data/fresh/day1.csv", frame.to_csv(index=False))
    example_repo.dvc("add", "-q", "data/fresh")
    example_repo.dvc("push", "-q")
    example_repo.commit("Fresh data")
    shutil.rmtree(example_repo.root / "data" / "fresh")
    shutil.rmtree(example_repo.root / ".dvc" / "cache")  # only the DVC remote has it now
    report = json_report(example_repo, "--current", "data/fresh")
    assert report["current"] == {"spec": "data/fresh", "paths": ["data/fresh"], "rows": len(frame)}
    assert report["dataset"]["drifted_columns"] == ["mean_texture"]


def test_a_label_column_not_named_in_mlci_yaml_is_named_in_the_hint() -> None:
    """Labelled data with `target` left out of mlci.yaml (as `mlci init` leaves it commented): a real
    scikit-learn model cannot score a column it was not fitted on; the hint names the column and the key,
    and a column it lacks is named as such."""
    from sklearn.linear_model import LogisticRegression

    from mlci.errors import MlciError
    from mlci.monitor.model import predict

    train = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0], "y": [0, 0, 1, 1]})
    model = LogisticRegression().fit(train[["a", "b"]], train["y"])
    with pytest.raises(MlciError) as extra:
        predict(model, train)
    assert "the data has column(s) the model was not fitted on: y" in str(extra.value.hint)
    assert "`models.NAME.target: y`" in str(extra.value.hint)
    with pytest.raises(MlciError) as lacking:
        predict(model, train[["a"]])
    assert "the data lacks column(s) the model was fitted on: b" in str(lacking.value.hint)
