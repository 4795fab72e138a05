"""The pure parts of retraining: which dataset, which token, what the pull request says."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from mlci.config import parse_config
from mlci.errors import MlciError
from mlci.retrain.handover import decay_rows, drift_rows
from mlci.retrain.pull_request import marker, pr_body, token_kind
from mlci.retrain.update import DataUpdate, choose_model, find_dataset


def _project(root: Path, stages: Mapping[str, object], tracked: list[str]) -> None:
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    for path in tracked:
        (root / f"{path}.dvc").parent.mkdir(parents=True, exist_ok=True)
        (root / f"{path}.dvc").write_text("outs:\n- md5: 0\n  path: x\n")


STAGES = {
    "prepare": {"cmd": "p", "deps": ["src/prepare.py", "data/raw.csv"], "outs": ["data/prepared"]},
    "train": {"cmd": "t", "deps": ["data/prepared/train.csv"], "outs": ["models/model.pkl"]},
}


def test_a_pipeline_output_leads_to_its_one_tracked_source(tmp_path: Path) -> None:
    _project(tmp_path, STAGES, ["data/raw.csv"])
    config = parse_config({"models": {"clf": {"data": "data/prepared/train.csv"}}})

    assert find_dataset(tmp_path, config, "clf") == "data/raw.csv"


def test_two_tracked_sources_ask_for_retrain_dataset(tmp_path: Path) -> None:
    stages = {**STAGES, "prepare": {**STAGES["prepare"], "deps": ["data/raw.csv", "data/extra.parquet"]}}
    _project(tmp_path, stages, ["data/raw.csv", "data/extra.parquet"])
    config = parse_config({"models": {"clf": {"data": "data/prepared/train.csv"}}})

    with pytest.raises(MlciError) as caught:
        find_dataset(tmp_path, config, "clf")
    assert "data/extra.parquet, data/raw.csv" in caught.value.message
    assert "retrain.dataset" in str(caught.value.hint)


def test_untracked_data_says_how_to_track_it(tmp_path: Path) -> None:
    _project(tmp_path, STAGES, [])
    config = parse_config({"models": {"clf": {"data": "data/labels.csv"}}})

    with pytest.raises(MlciError) as caught:
        find_dataset(tmp_path, config, "clf")
    assert "dvc add data/labels.csv" in str(caught.value.hint)


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({"GITHUB_TOKEN": "ghs_x"}, "github-token"),
        ({"GITHUB_TOKEN": "ghs_x", "MLCI_GITHUB_TOKEN": "ghp_" + "a" * 36}, "pat"),
        ({"MLCI_GITHUB_TOKEN": "github_pat_abc"}, "pat"),
        ({"GITHUB_TOKEN": "ghs_x", "MLCI_GITHUB_TOKEN": "ghs_app"}, "app"),
        ({"GITHUB_TOKEN": "ghs_x", "MLCI_TOKEN_KIND": "app"}, "app"),
        ({}, "none"),
    ],
)
def test_token_kind(env: dict[str, str], kind: str) -> None:
    assert token_kind(env) == kind


def test_an_unknown_token_kind_is_a_usage_error() -> None:
    with pytest.raises(MlciError, match="MLCI_TOKEN_KIND must be"):
        token_kind({"MLCI_TOKEN_KIND": "robot"})


def test_report_text_cannot_inject_markup_or_mentions(tmp_path: Path) -> None:
    report = {
        "summary": "drift <img src=x onerror=alert(1)> cc @everyone",
        "columns": [{"name": "a`|b", "drifted": True}, {"name": "fine"}, "not a column"],
        "decay": {"failed": [{"metric": "acc](http://evil)", "value": 0.5}, "f1"]},
    }
    drifted, checked = drift_rows(report)
    update = DataUpdate("data/raw.csv", "append", 10, 12, 2, True)

    body = pr_body(
        tmp_path,
        None,
        "",
        marker=marker("clf", "abc"),
        model="clf",
        summary=report["summary"],
        drifted=drifted,
        columns_checked=checked,
        drift_detected=True,
        decayed=decay_rows(report),
        dataset="data/raw.csv",
        mode="append",
        rows_before=10,
        rows_after=12,
        rows_added=2,
        fresh_paths=["new.csv"],
        old_md5="a",
        new_md5="b",
        update=update,
    )

    assert body.splitlines()[0] == "<!-- mlci:retrain:clf:abc -->"
    assert "<img" not in body and "@everyone" not in body
    assert "``a`|b``" in body and "- `acc](http://evil)`" in body  # inert inside code
    assert "1 of 2 columns" in body
    assert "- `f1`" in body


def test_a_model_name_cannot_close_the_marker() -> None:
    made = marker("x --> <b>", "h")
    assert made == "<!-- mlci:retrain:x_-___b_:h -->"
    assert re.fullmatch(r"<!--(?:(?!--).)+-->", made)


def test_several_models_need_a_name() -> None:
    config = parse_config({"models": {"a": {"data": "a.csv"}, "b": {"data": "b.csv"}}})

    assert choose_model(config, "", {"model": "b"}) == "b"
    with pytest.raises(MlciError, match=r"has 2 models: say which one to retrain"):
        choose_model(config, "", None)
    with pytest.raises(MlciError, match=r"no model named 'c' in mlci\.yaml \(models: a, b\)"):
        choose_model(config, "c", None)


def _body(tmp_path: Path, existing: dict[str, str] | None, run: str, drifted: list[dict[str, object]]) -> str:
    update = DataUpdate("data/raw.csv", "append", 10, 12, 2, True)
    return pr_body(
        tmp_path,
        existing,
        run,
        marker=marker("clf", "abc"),
        model="clf",
        summary="",
        drifted=drifted,
        columns_checked=3,
        drift_detected=True,
        decayed=[],
        dataset="data/raw.csv",
        mode="append",
        rows_before=10,
        rows_after=12,
        rows_added=2,
        fresh_paths=["new.csv"],
        old_md5="a",
        new_md5="b",
        update=update,
    )


def test_a_scheduled_run_with_the_same_figures_renders_the_same_body(tmp_path: Path) -> None:
    run = "https://github.com/o/r/actions/runs/"
    column = {"name": "age", "method": "KS", "score": 0.4, "threshold": 0.1, "why": ""}
    first = _body(tmp_path, None, run + "1", [column])
    assert f"Opened by [this monitoring run]({run}1)" in first
    # the next day's run: same drift figures → byte for byte the same body, so nothing is written
    assert _body(tmp_path, {"body": first}, run + "2", [column]) == first
    # figures changed: still opened by run 1, and run 3 named as the one the figures come from
    moved = _body(tmp_path, {"body": first}, run + "3", [{**column, "score": 0.6}])
    assert f"Opened by [this monitoring run]({run}1)" in moved and f"from [a later run]({run}3)" in moved
    assert _body(tmp_path, {"body": moved}, run + "4", [{**column, "score": 0.6}]) == moved
    # a run URL that could close the hidden comment is not written at all
    assert "mlci:opened-by" not in _body(tmp_path, None, "https://x/--><img>", [column])
