"""Gates from mlci.yaml checked against metric rows, as a reviewer would read the verdicts."""

from __future__ import annotations

import pytest

from mlci.config import Gate, parse_config
from mlci.errors import MlciError
from mlci.gates import evaluate_gates
from mlci.metrics import rows_from_values

BASE = {"metrics.json": {"test.accuracy": 0.93, "test.log_loss": 0.20, "test.f1": 0.90}}
HEAD = {"metrics.json": {"test.accuracy": 0.915, "test.log_loss": 0.215, "test.f1": 0.91}}

DOC_EXAMPLE = """
gates:
  - metric: "test.accuracy"   # a DVC metric key; globs allowed; "file:key" to pin a file
    min: 0.80                 # absolute bounds on the head value: min / max
    max_drop: 0.01            # change vs base: max_drop / max_rise (absolute),
  - metric: "*loss*"          #                 max_drop_pct / max_rise_pct (relative, percent)
    max_rise_pct: 5
"""


def results(gates, base=BASE, head=HEAD, **kw):  # type: ignore[no-untyped-def]
    config = parse_config({"gates": gates}) if isinstance(gates, list) else gates
    rows = rows_from_values(base, head, config)
    return evaluate_gates(config.gates, rows, **kw)


def test_documented_example_fails_on_accuracy_drop_and_loss_rise() -> None:
    import yaml

    config = parse_config(yaml.safe_load(DOC_EXAMPLE))
    out = results(config)
    by_key = {r.key: r for r in out}
    # accuracy dropped 0.015 > 0.01; loss rose 7.5 % > 5 %
    assert not by_key["test.accuracy"].passed and "max_drop" in by_key["test.accuracy"].reason
    assert not by_key["test.log_loss"].passed and "max_rise_pct" in by_key["test.log_loss"].reason
    assert by_key["test.accuracy"].value == HEAD["metrics.json"]["test.accuracy"]


def test_passing_gates_explain_what_was_checked() -> None:
    out = results([{"metric": "test.f1", "min": 0.9, "max_drop": 0.0}])
    assert len(out) == 1 and out[0].passed
    assert "min 0.9" in out[0].reason


def test_min_and_max_bound_the_head_value() -> None:
    assert not results([{"metric": "test.accuracy", "min": 0.92}])[0].passed
    assert not results([{"metric": "test.log_loss", "max": 0.21}])[0].passed
    assert results([{"metric": "test.log_loss", "max": 0.22}])[0].passed


def test_glob_matches_every_metric_and_file_pins() -> None:
    base = {**BASE, "other.json": {"test.accuracy": 0.5}}
    head = {**HEAD, "other.json": {"test.accuracy": 0.5}}
    both = results([{"metric": "test.[af]*", "min": 0.6}], base, head)
    assert len(both) == 3 and [r.file for r in both if not r.passed] == ["other.json"]
    pinned = results([{"metric": "metrics.json:test.accuracy", "min": 0.6}], base, head)
    assert [(r.file, r.passed) for r in pinned] == [("metrics.json", True)]


def test_a_gate_that_matches_nothing_fails_and_suggests_the_name() -> None:
    out = results([{"metric": "test.acuracy", "min": 0.5}])
    assert len(out) == 1 and not out[0].passed
    assert "no metric matches 'test.acuracy'" in out[0].reason and "test.accuracy" in out[0].reason


def test_removed_metric_fails_its_gate_and_new_metric_skips_change_bounds() -> None:
    head = {"metrics.json": {"test.f1": 0.91, "test.recall": 0.8}}
    out = {r.key: r for r in results([{"metric": "test.*", "max_drop": 0.05}], head=head)}
    assert not out["test.accuracy"].passed and "missing" in out["test.accuracy"].reason
    assert out["test.recall"].passed and "no base" in out["test.recall"].reason


def test_relative_change_from_zero_and_non_numbers() -> None:
    base = {"m.json": {"errors": 0, "name": "a"}}
    head = {"m.json": {"errors": 3, "name": "b"}}
    out = {r.key: r for r in results([{"metric": "*", "max_rise_pct": 10}], base, head)}
    assert not out["errors"].passed
    assert not out["name"].passed and "not a number" in out["name"].reason


def test_nan_head_fails_instead_of_crashing() -> None:
    out = results([{"metric": "a", "min": 0}], {"m.json": {"a": 1.0}}, {"m.json": {"a": float("nan")}})
    assert not out[0].passed and "not a number" in out[0].reason


def test_model_gates_and_absolute_only() -> None:
    gates = [
        {"metric": "test.accuracy", "model": "small", "min": 0.95},
        {"metric": "test.accuracy", "max_drop": 0.001},
    ]
    assert [r.passed for r in results(gates, model="small")] == [False]
    assert [r.passed for r in results(gates)] == [False]
    # deploy: only absolute bounds, change-only gates are skipped
    assert results(gates, absolute_only=True) == []
    assert [r.passed for r in results(gates, model="small", absolute_only=True)] == [False]


def test_gate_without_bounds_is_a_config_error() -> None:
    with pytest.raises(MlciError, match="no bound"):
        evaluate_gates([Gate(metric="x")], [])
