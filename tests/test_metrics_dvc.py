"""Metrics and params read by mlci equal what DVC's own `metrics diff` / `params diff` report."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from mlci.config import Config
from mlci.errors import MlciError
from mlci.metrics import MetricRow, diff_metrics, read_metrics
from tests.testing.report import dvc_json, files_repo, init_dvc_repo, scored_repo


def assert_same_as_dvc(root: Path, base: str, head: str) -> list[MetricRow]:
    rows = diff_metrics(root, base, head, Config())
    oracle = dvc_json(root, "metrics", "diff", base, head, "--all")
    theirs = {(f, k): v for f, keys in oracle.items() for k, v in keys.items()}
    ours = {(r.file, r.key): r for r in rows if not r.moved_from}
    for row in (r for r in rows if r.moved_from):  # DVC shows a moved file as removed + added
        ours[(row.moved_from, row.key)] = replace(row, head=None, head_text="", change=None)
        ours[(row.file, row.key)] = replace(row, base=None, base_text="", change=None)
    assert set(ours) == set(theirs)
    for where, expected in theirs.items():
        row = ours[where]
        for mine, text, their in (
            (row.base, row.base_text, expected["old"]),
            (row.head, row.head_text, expected["new"]),
        ):
            if isinstance(their, bool):  # diffed as 1 and 0, shown as written
                assert text == str(their).lower() and mine == float(their)
            elif isinstance(their, str):
                assert text == their
            elif their is None:
                assert mine is None and not text
            else:
                assert mine == their
        if "diff" in expected and math.isfinite(expected["diff"]):
            assert row.change == pytest.approx(expected["diff"], rel=1e-12, abs=1e-15)
    return rows


def test_example_retrained_matches_dvc(example_repo) -> None:  # type: ignore[no-untyped-def]
    base = example_repo.head()
    example_repo.git("checkout", "-q", "-b", "smaller-forest")
    example_repo.set_param("train.n_estimators", 5)
    head = example_repo.retrain("Fewer trees")
    rows = assert_same_as_dvc(example_repo.root, base, head)
    assert {r.key for r in rows} >= {"test.accuracy", "test.log_loss"}
    assert next(r for r in rows if r.key == "test.log_loss").direction == "lower"
    assert next(r for r in rows if r.key == "test.accuracy").direction == "higher"


def test_nested_yaml_and_dvc_cached_metrics_match_dvc(tmp_path: Path) -> None:
    repo, base, head = scored_repo(tmp_path)
    rows = assert_same_as_dvc(repo.root, base, head)
    by_name = {r.name: r for r in rows}
    # the DVC-cached file was streamed from the remote: the local cache is gone
    assert not (repo.root / ".dvc" / "cache").exists() and by_name["cached.json:auc"].change is not None
    assert by_name["cached.json:deep.nested.rmse"].direction == "lower"
    assert by_name["speed.yaml:latency_ms"].direction == "lower"
    assert by_name["speed.yaml:name"].change is None  # strings are shown, not diffed
    assert by_name["speed.yaml:ok"].base_text == "false" and by_name["speed.yaml:ok"].head_text == "true"
    assert by_name["speed.yaml:ok"].change == 1  # booleans are diffed as 1 and 0, like DVC


def test_added_and_removed_files_match_dvc(tmp_path: Path) -> None:
    repo, base, head = files_repo(tmp_path)
    rows = assert_same_as_dvc(repo.root, base, head)
    status = {r.name: r.status for r in rows}
    assert status["reports/old.json:score"] == "removed"
    assert status["reports/new.json:score"] == "added"
    assert status["reports/summary.yaml:train.r2"] == "unchanged"
    assert status["reports/summary.yaml:train.mse"] == "changed"


def test_read_metrics_workspace_and_revision(tmp_path: Path) -> None:
    repo, base, _ = files_repo(tmp_path)
    repo.write("reports/new.json", json.dumps({"score": 0.9, "count": 12}))
    assert read_metrics(repo.root, None)["reports/new.json"]["score"] == 0.9
    at_base = read_metrics(repo.root, base)
    assert at_base["reports/old.json"] == {"score": 0.5, "count": 10.0}
    assert "reports/new.json" not in at_base


def test_unreadable_metrics_file_is_an_error_naming_file_and_revision(tmp_path: Path) -> None:
    repo = init_dvc_repo(tmp_path)
    repo.write("dvc.yaml", "metrics:\n  - m.json\n")
    repo.write("m.json", '{"a": 1}')
    base = repo.commit("ok")
    repo.write("m.json", '{"a": 1,,}')
    head = repo.commit("broken")
    with pytest.raises(MlciError) as caught:
        diff_metrics(repo.root, base, head, Config())
    assert "m.json" in caught.value.message and head in caught.value.message


def test_dvc_cached_metric_missing_everywhere_is_unread_not_an_error(tmp_path: Path) -> None:
    from mlci.repo.revision import open_repo, read_snapshot

    repo, _, head = scored_repo(tmp_path)
    for path in repo.remote.rglob("*"):
        if path.is_file():
            path.unlink()
    with open_repo(repo.root) as dvc_repo:
        snapshot = read_snapshot(dvc_repo, head)
    assert "cached.json" not in snapshot.metrics
    assert "dvc push" in snapshot.unread["cached.json"]
    assert "speed.yaml" in snapshot.metrics and "speed.yaml" not in snapshot.unread


def test_nan_metric_does_not_crash(tmp_path: Path) -> None:
    repo = init_dvc_repo(tmp_path)
    repo.write("dvc.yaml", "metrics:\n  - m.json\n")
    repo.write("m.json", '{"a": 1.0, "b": 2}')
    base = repo.commit("ok")
    repo.write("m.json", '{"a": NaN, "b": Infinity}')
    head = repo.commit("nan")
    rows = {r.key: r for r in diff_metrics(repo.root, base, head, Config())}
    assert rows["a"].head is not None and math.isnan(rows["a"].head)
    assert rows["a"].change is None and rows["b"].change is None
    assert rows["a"].status == "changed"


def test_params_equal_dvc_params_diff(tmp_path: Path) -> None:
    from mlci.repo.revision import open_repo, read_snapshot
    from mlci.report.params import diff_params

    repo, base, head = scored_repo(tmp_path)
    with open_repo(repo.root) as dvc_repo:
        rows = diff_params(read_snapshot(dvc_repo, base).params, read_snapshot(dvc_repo, head).params)
    oracle = dvc_json(repo.root, "params", "diff", base, head)
    assert {(r.file, r.key): (r.base, r.head) for r in rows} == {
        (file, key): (v["old"], v["new"]) for file, keys in oracle.items() for key, v in keys.items()
    }
    assert len(rows) == 2  # model.alpha and model.layers.depth
