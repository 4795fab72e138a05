"""`mlci data check` / `mlci data infer` on real git + DVC repos of the example project."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mlci.config import load_config
from mlci.data.check import data_section
from tests.testing.fixtures import ExampleRepo, actions_env, load_event, read_outputs, run_cli

RAW = "data/raw.csv"


def change_raw(repo: ExampleRepo, edit: Callable[[pd.DataFrame], pd.DataFrame], message: str) -> str:
    """Edit the DVC-tracked raw data as a PR would: rewrite, `dvc add`, commit. Returns the base."""
    base = repo.head()
    frame = edit(pd.read_csv(repo.root / RAW))
    frame.to_csv(repo.root / RAW, index=False)
    repo.dvc("add", "-q", RAW)
    repo.commit(message)
    return base


def check_json(repo: ExampleRepo, *args: str, env: dict[str, str] | None = None) -> tuple[Any, Any]:
    proc = run_cli("data", "check", *args, "--format", "json", cwd=repo.root, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc, json.loads(proc.stdout)


def dataset(report: dict[str, Any], path: str = RAW) -> dict[str, Any]:
    return next(d for d in report["datasets"] if d["path"] == path)


def new_rows(frame: pd.DataFrame, count: int) -> pd.DataFrame:
    """Rows like the existing ones (a resample with tiny noise), none equal to an existing row."""
    extra = frame.sample(count, random_state=7).reset_index(drop=True)
    numeric = [c for c in frame.columns if c not in ("size_band", "target")]
    extra[numeric] = extra[numeric] * 1.001
    return pd.concat([frame, extra], ignore_index=True)


def test_pr_that_adds_rows_passes(example_repo: ExampleRepo) -> None:
    base = change_raw(example_repo, lambda f: new_rows(f, 40), "Add 40 rows")
    proc, report = check_json(example_repo, "--base", base)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    raw = dataset(report)
    assert raw["passed"] and raw["contract"] == "inferred" and raw["warnings"] == []
    assert raw["changes"]["rows_added"] == 40 and raw["changes"]["rows_removed"] == 0
    assert raw["drift"]["drifted_columns"] == []
    # the default datasets: the pipeline's DVC-tracked tabular deps
    paths = {d["path"] for d in report["datasets"]}
    assert paths == {RAW, "data/prepared/train.csv", "data/prepared/test.csv"}
    # the prepared data was not reproduced in this PR: same content as the base, not read again
    assert "unchanged since the base: not read again" in dataset(report, "data/prepared/train.csv")["notes"]
    assert "unchanged since the base: not read again" not in raw["notes"]


def test_broken_declared_range_fails_naming_column_and_rule(example_repo: ExampleRepo) -> None:
    frame = pd.read_csv(example_repo.root / RAW)
    limit = float(frame["mean_radius"].quantile(0.9))
    above = frame.index[frame["mean_radius"] > limit]
    example_repo.write(
        "mlci.yaml",
        yaml.safe_dump(
            {
                "data": {
                    "datasets": {
                        "raw": {
                            "path": RAW,
                            "strict_columns": False,
                            "columns": {"mean_radius": {"max": limit}},
                        }
                    }
                },
                # small chunks: the counts and row numbers must hold across chunk boundaries
                "monitor": {"chunk_rows": 100},
            }
        ),
    )
    proc = run_cli("data", "check", cwd=example_repo.root)
    assert proc.returncode == 1
    assert "column 'mean_radius' breaks rule 'max'" in proc.stderr
    _, report = check_json(example_repo)
    (violation,) = dataset(report)["violations"]
    assert violation["count"] == len(above)
    first = above[0]
    assert violation["examples"][0].startswith(f"row {first + 1}: ")


def declare(repo: ExampleRepo, contract: dict[str, Any], **sections: Any) -> None:
    """Commit a declared contract for the raw data (the team's state before the PR)."""
    repo.write(
        "mlci.yaml", yaml.safe_dump({"data": {"datasets": {"raw": {"path": RAW, **contract}}}, **sections})
    )
    repo.commit("Declare the data contract")


def test_dropped_column_fails(example_repo: ExampleRepo) -> None:
    assert run_cli("data", "infer", RAW, "--write", cwd=example_repo.root).returncode == 0
    example_repo.commit("Declare the inferred contract")
    base = change_raw(example_repo, lambda f: f.drop(columns=["mean_texture"]), "Drop a column")
    proc = run_cli("data", "check", RAW, "--base", base, cwd=example_repo.root)
    assert proc.returncode == 1, proc.stderr
    assert "column 'mean_texture' breaks rule 'columns': column is missing" in proc.stderr
    assert "Columns removed: `mean_texture`" in proc.stdout


def test_shifted_distribution_fails_with_annotation_on_the_dvc_file(
    example_repo: ExampleRepo, tmp_path: Path
) -> None:
    declare(example_repo, {"strict_columns": False})  # no column rules: only drift can fail it

    def shift(frame: pd.DataFrame) -> pd.DataFrame:
        frame["mean_area"] = frame["mean_area"] * 1.5
        return frame

    base = change_raw(example_repo, shift, "Rescale mean_area")
    event = load_event("pull_request/opened")
    event["pull_request"]["base"]["sha"] = base  # no --base: on a PR the base is the PR's base
    env = actions_env(tmp_path / "gh", "pull_request", event)
    proc = run_cli("data", "check", RAW, cwd=example_repo.root, env=env)
    assert proc.returncode == 1, proc.stderr
    errors = [
        line for line in proc.stdout.splitlines() if line.startswith("::error file=data/raw.csv.dvc,line=1")
    ]
    assert len(errors) == 1 and "column 'mean_area' drifted" in errors[0]
    assert read_outputs(tmp_path / "gh" / "output")["data-passed"] == "false"
    summary = (tmp_path / "gh" / "summary").read_text()
    assert "Data ❌ failed" in summary and "`mean_area`" in summary


def test_without_a_declared_contract_findings_are_reported_not_gated(example_repo: ExampleRepo) -> None:
    def damage(frame: pd.DataFrame) -> pd.DataFrame:
        frame["mean_area"] = frame["mean_area"] * 1.5
        return frame.drop(columns=["mean_texture"])

    base = change_raw(example_repo, damage, "Rescale mean_area, drop mean_texture")
    env = {"GITHUB_ACTIONS": "true"}
    proc = run_cli("data", "check", RAW, "--base", base, cwd=example_repo.root, env=env)
    assert proc.returncode == 0, proc.stderr
    warnings = [
        line for line in proc.stdout.splitlines() if line.startswith("::warning file=data/raw.csv.dvc")
    ]
    assert any("column 'mean_texture' breaks rule 'columns'" in w for w in warnings)
    assert any("column 'mean_area' drifted" in w for w in warnings)
    assert "reported, not gated" in proc.stdout
    example_repo.write("mlci.yaml", yaml.safe_dump({"data": {"gate_inferred": True}}))
    proc = run_cli("data", "check", RAW, "--base", base, cwd=example_repo.root)
    assert proc.returncode == 1 and "column 'mean_texture' breaks rule 'columns'" in proc.stderr


def test_infer_round_trips_through_mlci_yaml(example_repo: ExampleRepo) -> None:
    before = (example_repo.root / "mlci.yaml").read_text()
    proc = run_cli("data", "infer", RAW, "--write", cwd=example_repo.root)
    assert proc.returncode == 0, proc.stderr
    after = (example_repo.root / "mlci.yaml").read_text()
    assert after.startswith(before)  # appended: the user's comments stay
    contract = load_config(example_repo.root).data.datasets["raw"]
    frame = pd.read_csv(example_repo.root / RAW)
    assert list(contract.columns) == list(frame.columns)
    assert contract.columns["size_band"].allowed == tuple(sorted(frame["size_band"].unique()))
    assert contract.columns["mean_radius"].max == frame["mean_radius"].max()
    assert contract.columns["target"].type == "int" and contract.label == "target"
    proc = run_cli("data", "check", cwd=example_repo.root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "inferred from base" not in proc.stdout and "| declared |" in proc.stdout


def test_infer_write_into_an_existing_data_section(example_repo: ExampleRepo) -> None:
    example_repo.write("mlci.yaml", "# team settings\ndata:\n  gate_inferred: true\n")
    proc = run_cli("data", "infer", RAW, "--write", cwd=example_repo.root)
    assert proc.returncode == 0, proc.stderr
    assert "comments were not kept" in proc.stdout
    data = load_config(example_repo.root).data
    assert data.gate_inferred is True and list(data.datasets) == ["raw"]
    assert run_cli("data", "check", cwd=example_repo.root).returncode == 0


def test_base_profile_is_cached_by_content_hash(example_repo: ExampleRepo) -> None:
    base = change_raw(example_repo, lambda f: new_rows(f, 10), "Add 10 rows")
    _, first = check_json(example_repo, RAW, "--base", base)
    assert dataset(first)["base_cached"] is False
    # the base data is gone from the DVC cache and the remote: only the profile cache can answer
    shutil.rmtree(example_repo.root / ".dvc" / "cache")
    shutil.rmtree(example_repo.remote)
    example_repo.remote.mkdir()
    proc, second = check_json(example_repo, RAW, "--base", base)
    assert proc.returncode == 0 and dataset(second)["base_cached"] is True
    assert dataset(second)["changes"] == dataset(first)["changes"]
    shutil.rmtree(example_repo.root / ".mlci" / "profiles")
    cold = run_cli("data", "check", RAW, "--base", base, cwd=example_repo.root)
    assert cold.returncode == 2 and "error:" in cold.stderr  # without the cache the base is unreadable


def test_unique_key_and_label_balance(example_repo: ExampleRepo) -> None:
    frame = pd.read_csv(example_repo.root / RAW)
    frame.insert(0, "id", range(len(frame)))
    frame.loc[[10, 250, 400], "id"] = [3, 3, 150]  # 3 repeats, across chunks of 100 rows
    frame.to_csv(example_repo.root / RAW, index=False)
    shares = frame["target"].value_counts(normalize=True)
    example_repo.write(
        "mlci.yaml",
        yaml.safe_dump(
            {
                "data": {
                    "datasets": {
                        "raw": {
                            "path": RAW,
                            "strict_columns": False,
                            "unique": ["id"],
                            "label": "target",
                            "min_class_share": float(shares.min()) + 0.01,
                        }
                    }
                },
                "monitor": {"chunk_rows": 100},
            }
        ),
    )
    proc, report = check_json(example_repo)
    assert proc.returncode == 1
    rules = {v["rule"]: v for v in dataset(report)["violations"]}
    assert rules["unique"]["count"] == int(frame["id"].duplicated().sum())
    assert rules["unique"]["examples"][0].startswith("row 11: ")
    assert "min_class_share" in rules


def test_data_section_seam(example_repo: ExampleRepo) -> None:
    config = load_config(example_repo.root)
    same = example_repo.head()
    assert data_section(example_repo.root, same, same, config) is None
    base = change_raw(
        example_repo, lambda f: f.assign(size_band=f["size_band"].where(f.index % 7 > 0, "huge")), "New band"
    )
    section = data_section(example_repo.root, base, example_repo.head(), config)
    assert section is not None and section.passed  # no declared contract: reported, not gated
    assert [d["path"] for d in section.json["datasets"]] == [RAW]  # only the data that changed
    assert any(
        a.level == "warning"
        and a.file == "data/raw.csv.dvc"
        and "column 'size_band' breaks rule 'allowed'" in a.message
        for a in section.annotations
    )
    gating = dataclasses.replace(config, data=dataclasses.replace(config.data, gate_inferred=True))
    section = data_section(example_repo.root, base, example_repo.head(), gating)
    assert section is not None and not section.passed
    assert section.markdown.startswith("### Data ❌ failed")
    assert section.json["datasets"][0]["base_cached"] is True  # the first call cached the base


def test_text_from_the_data_is_escaped(example_repo: ExampleRepo) -> None:
    example_repo.write("data/evil.csv", "n\n1\n<img src=x>@team\n")
    proc = run_cli("data", "check", "data/evil.csv", cwd=example_repo.root)
    assert proc.returncode == 0, proc.stderr  # no contract, no base: a report only
    assert "no contract declared" in proc.stdout
    example_repo.write(
        "mlci.yaml",
        yaml.safe_dump(
            {
                "data": {
                    "datasets": {
                        "evil": {"path": "data/evil.csv", "columns": {"n": {"type": "int"}, "x|**y**": {}}}
                    }
                }
            }
        ),
    )
    proc = run_cli("data", "check", cwd=example_repo.root)
    assert proc.returncode == 1
    assert "<img" not in proc.stdout and "&lt;img src=x&gt;@\u200dteam" in proc.stdout
    assert "| `x\\|**y**` |" in proc.stdout  # a pipe in a table cell is escaped, even in code
    assert "column 'n' breaks rule 'type'" in proc.stderr


def test_bad_input_is_a_usage_error(example_repo: ExampleRepo) -> None:
    proc = run_cli("data", "check", "notes.txt", cwd=example_repo.root)
    assert proc.returncode == 2
    assert "'notes.txt' is not a declared dataset nor a CSV/Parquet file or folder" in proc.stderr
    example_repo.write("data/broken.csv", "a,b\n1,2\n3,4,5\n")
    proc = run_cli("data", "check", "data/broken.csv", cwd=example_repo.root)
    assert proc.returncode == 2 and "cannot read broken.csv" in proc.stderr
    before = (example_repo.root / "mlci.yaml").read_text()
    proc = run_cli("data", "infer", "data/broken.csv", "--write", cwd=example_repo.root)
    assert proc.returncode == 2 and (example_repo.root / "mlci.yaml").read_text() == before


def test_folder_of_parquet_files(example_repo: ExampleRepo) -> None:
    frame = pd.read_csv(example_repo.root / RAW)
    folder = example_repo.root / "data" / "batches"
    folder.mkdir()
    frame.iloc[:300].to_parquet(folder / "part-0.parquet", index=False)
    frame.iloc[300:].to_parquet(folder / "part-1.parquet", index=False)
    limit = float(frame["mean_radius"].max())
    contract = {"path": "data/batches", "strict_columns": False, "drift_fails": False}
    contract["columns"] = {"mean_radius": {"type": "float", "max": limit}}
    example_repo.write("mlci.yaml", yaml.safe_dump({"data": {"datasets": {"batches": contract}}}))
    example_repo.dvc("add", "-q", "data/batches")
    base = example_repo.commit("Data arrives in Parquet batches")
    new = frame.iloc[:25].copy()
    new.loc[new.index[4], "mean_radius"] = limit + 1
    new.to_parquet(folder / "part-2.parquet", index=False)
    example_repo.dvc("add", "-q", "data/batches")
    example_repo.commit("A new batch")
    proc, report = check_json(example_repo, "--base", base)
    assert proc.returncode == 1
    result = dataset(report, "data/batches")
    (violation,) = result["violations"]
    assert (violation["column"], violation["rule"], violation["count"]) == ("mean_radius", "max", 1)
    assert violation["examples"] == [f"data/batches/part-2.parquet row 5: {limit + 1}"]
    changes = result["changes"]
    assert changes["rows_base"] + 25 == changes["rows_head"]
    assert changes["rows_added"] == 1  # by content: 24 of the 25 new rows repeat rows of the base
    assert changes["duplicates_head"] == changes["duplicates_base"] + 24


def test_a_project_without_tabular_data_has_nothing_to_check_and_passes(tmp_path: Path) -> None:
    """A DVC pipeline over XML (iterative/example-get-started's shape): the data job must not block
    training. One line says there was nothing to check; an explicitly named file still must exist."""
    from mlci.repo.dvc import dvc
    from mlci.repo.git import git

    root = tmp_path / "xml-project"
    (root / "data").mkdir(parents=True)
    (root / "data" / "data.xml").write_text("<posts><row Id='1' Body='hello'/></posts>\n")
    (root / "src").mkdir()
    (root / "src" / "prepare.py").write_text("import shutil; shutil.copy('data/data.xml', 'prepared.xml')\n")
    (root / "dvc.yaml").write_text(
        "stages:\n  prepare:\n    cmd: python src/prepare.py\n    deps: [data/data.xml, src/prepare.py]\n"
        "    outs: [prepared.xml]\n"
    )
    git(root, "init", "-q")
    dvc(root, "init", "-q")
    dvc(root, "add", "-q", "data/data.xml")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "XML data")
    env = actions_env(tmp_path / "gha", "push", {"repository": {"full_name": "o/r"}})

    proc = run_cli("data", "check", cwd=root, env=env)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("mlci data check: nothing to check")
    assert read_outputs(tmp_path / "gha" / "output")["data-passed"] == "true"
    assert run_cli("data", "check", "data/missing.csv", cwd=root).returncode == 2


def test_a_dvc_tracked_folder_of_csv_files_is_checked_pulled_or_not(tmp_path: Path) -> None:
    """A stage reading a DVC-tracked *folder* of CSV files: found from what DVC recorded even when the
    folder is not in the work tree (a CI job that did not pull it), not "nothing to check"."""
    from mlci.repo.dvc import dvc
    from mlci.repo.git import git

    root = tmp_path / "daily-project"
    (root / "data" / "daily").mkdir(parents=True)
    for day in (1, 2, 3):
        pd.DataFrame({"amount": [day * 1.5, day * 2.5, 3.0], "shop": ["a", "b", "c"]}).to_csv(
            root / "data" / "daily" / f"2026-01-0{day}.csv", index=False
        )
    (root / "dvc.yaml").write_text(
        "stages:\n  fit:\n    cmd: python fit.py\n    deps: [data/daily]\n    outs: [model.pkl]\n"
    )
    git(root, "init", "-q")
    dvc(root, "init", "-q")
    dvc(root, "add", "-q", "data/daily")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "daily tables")
    shutil.rmtree(root / "data" / "daily")  # not pulled: only DVC's record of it
    proc = run_cli("data", "check", "--format", "json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to check" not in proc.stdout
    (checked,) = json.loads(proc.stdout)["datasets"]
    assert checked["path"] == "data/daily"
