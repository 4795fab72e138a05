"""The report follows DVC's semantics in its corners, and is never quietly green.

Each test builds a real git + DVC repository at two revisions, runs `mlci report` as a user does, and
where DVC has an answer compares with `dvc metrics diff --json` / `dvc params diff --json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.testing.fixtures import run_cli
from tests.testing.report import BuiltRepo, dvc_json, init_dvc_repo


def report_json(repo: BuiltRepo, base: str, head: str) -> tuple[int, dict[str, Any], str]:
    done = run_cli("report", "--base", base, "--head", head, "--format", "json", cwd=repo.root)
    document = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, document, done.stderr


def gates(repo: BuiltRepo, *entries: dict[str, Any]) -> None:
    repo.write("mlci.yaml", yaml.safe_dump({"gates": list(entries)}))


def metrics_stage(repo: BuiltRepo, *files: str) -> None:
    """One stage writing `files` (cache: false) from params.yaml, so `dvc repro` is the pipeline."""
    writes = "; ".join(f"cp out.json {f}" for f in files)
    outs = "".join(f"      - {f}:\n          cache: false\n" for f in files)
    repo.write(
        "dvc.yaml",
        "stages:\n  score:\n    cmd: python3 -c \"import yaml,json; json.dump(yaml.safe_load(open('params.yaml')),"
        f" open('out.json','w'))\" && {writes}\n    params: [acc]\n    metrics:\n{outs}",
    )


def test_metrics_file_missing_at_head_fails_and_says_which(tmp_path: Path) -> None:
    repo = init_dvc_repo(tmp_path)
    metrics_stage(repo, "m.json")
    gates(repo, {"metric": "acc", "min": 0.5})
    repo.write(".gitignore", "out.json\n")
    repo.write("params.yaml", "acc: 0.9\n")
    base = repo.repro_commit("base")
    # the stage stays, its cache: false metrics file is gone (the pipeline did not write it)
    repo.git("rm", "-q", "m.json")
    head = repo.commit("metrics lost")
    code, document, err = report_json(repo, base, head)
    oracle = dvc_json(repo.root, "metrics", "diff", base, head, "--all")
    assert oracle["m.json"]["acc"] == {"old": 0.9, "new": None}  # DVC: old value and null
    assert code == 1, err
    assert document["summary"]["verdict"] == "failed" and document["summary"]["gates_passed"] is False
    assert [(u["file"], u["revision"]) for u in document["unread"]] == [("m.json", "head")]
    row = next(m for m in document["metrics"] if m["key"] == "acc")
    assert (row["base"], row["head"], row["status"]) == (0.9, None, "removed")
    (gate,) = document["gates"]
    assert not gate["passed"] and "m.json could not be read at head" in gate["reason"]
    assert "m.json" in err


def test_top_level_metrics_file_missing_without_gates_is_not_green(tmp_path: Path) -> None:
    repo = init_dvc_repo(tmp_path)
    repo.write("dvc.yaml", "metrics:\n  - eval/a.json\n  - eval/b.yaml\n")
    repo.write("eval/a.json", '{"f1": 0.5}')
    repo.write("eval/b.yaml", "f2: 0.25\n")
    base = repo.commit("base")
    (repo.root / "eval" / "b.yaml").unlink()
    head = repo.commit("b not written")
    code, document, err = report_json(repo, base, head)
    assert code == 1 and "eval/b.yaml" in err
    assert document["unread"][0]["file"] == "eval/b.yaml"
    markdown = run_cli("report", "--base", base, "--head", head, cwd=repo.root).stdout
    assert "could not be read" in markdown and "`eval/b.yaml` at head" in markdown
    assert "1 metrics file not read at head" in markdown.splitlines()[0]


def test_renamed_metrics_file_is_moved_compared_and_gated(tmp_path: Path) -> None:
    repo = init_dvc_repo(tmp_path)
    repo.write("dvc.yaml", "metrics:\n  - scores.json\n")
    repo.write("scores.json", json.dumps({"test": {"auc": 0.8, "f1": 0.6}}))
    gates(repo, {"metric": "test.auc", "max_drop": 0.05})
    base = repo.commit("base")
    repo.git("mv", "scores.json", "eval.json")
    repo.write("dvc.yaml", "metrics:\n  - eval.json\n")
    repo.write("eval.json", json.dumps({"test": {"auc": 0.7, "f1": 0.6}}))
    head = repo.commit("renamed, and auc dropped")
    code, document, _ = report_json(repo, base, head)
    rows = {m["key"]: m for m in document["metrics"]}
    assert set(rows) == {"test.auc", "test.f1"}  # one row per metric, not removed + added
    assert rows["test.auc"]["moved_from"] == "scores.json" and rows["test.auc"]["file"] == "eval.json"
    assert round(rows["test.auc"]["change"], 9) == -0.1 and rows["test.f1"]["status"] == "unchanged"
    (gate,) = document["gates"]
    assert not gate["passed"] and "drop" in gate["reason"] and code == 1  # compared, not "missing"


def test_different_files_with_different_keys_are_not_moved(tmp_path: Path) -> None:
    repo = init_dvc_repo(tmp_path)
    repo.write("dvc.yaml", "metrics:\n  - a.json\n  - b.json\n")
    repo.write("a.json", '{"x": 1}')
    repo.write("b.json", '{"y": 1}')
    base = repo.commit("base")
    for name in ("a.json", "b.json"):
        (repo.root / name).unlink()
    repo.write("dvc.yaml", "metrics:\n  - c.json\n  - d.json\n")
    repo.write("c.json", '{"x": 2, "extra": 1}')  # not the same keys: a new file, not a.json moved
    repo.write("d.json", '{"y": 2}')
    head = repo.commit("head")
    _, document, _ = report_json(repo, base, head)
    status = {(m["file"], m["key"]): (m["status"], m["moved_from"]) for m in document["metrics"]}
    assert status[("a.json", "x")] == ("removed", None) and status[("c.json", "x")] == ("added", None)
    assert status[("d.json", "y")] == ("changed", "b.json")


def test_booleans_and_type_only_param_changes_follow_dvc(tmp_path: Path) -> None:
    repo = init_dvc_repo(tmp_path)
    repo.write("dvc.yaml", "metrics:\n  - m.json\n")
    repo.write("params.yaml", "a: 1\nb: 1\nc: 0\nd: [1, 2]\nlr: 0.1\n")
    repo.write("m.json", json.dumps({"converged": True, "stable": False, "flag": True}))
    base = repo.commit("base")
    repo.write("params.yaml", "a: 1.0\nb: true\nc: false\nd: [1.0, 2]\nlr: 0.2\n")
    repo.write("m.json", json.dumps({"converged": False, "stable": False, "flag": 1}))
    head = repo.commit("head")
    _, document, _ = report_json(repo, base, head)
    dvc_metrics = dvc_json(repo.root, "metrics", "diff", base, head, "--all")["m.json"]
    for row in document["metrics"]:
        theirs = dvc_metrics[row["key"]]
        assert (row["base"], row["head"], row["change"]) == (theirs["old"], theirs["new"], theirs["diff"])
    dvc_params = dvc_json(repo.root, "params", "diff", base, head)
    shown = {(p["file"], p["key"]): (p["base"], p["head"]) for p in document["params"]}
    ours = {where: tuple(str(v) if isinstance(v, list) else v for v in pair) for where, pair in shown.items()}
    assert ours == {(f, k): (v["old"], v["new"]) for f, keys in dvc_params.items() for k, v in keys.items()}
    # 1 → 1.0, 1 → true and 0 → false are no change, as in DVC; lists differ as DVC prints them
    assert sorted(ours) == [("params.yaml", "d"), ("params.yaml", "lr")]


def test_gate_count_small_changes_and_sha_base_in_the_comment(tmp_path: Path) -> None:
    repo = init_dvc_repo(tmp_path)
    repo.write("dvc.yaml", "metrics:\n  - m.json\n")
    repo.write("m.json", json.dumps({"acc": 0.91234, "f1": 0.8, "loss": 0.5}))
    gates(repo, {"metric": "*", "min": 0.0}, {"metric": "acc", "min": 0.99})
    base = repo.commit("base")
    repo.write("m.json", json.dumps({"acc": 0.91231, "f1": 0.7998, "loss": 0.4}))
    head = repo.commit("head")
    short = base[:7]
    done = run_cli("report", "--base", short, "--head", head, cwd=repo.root)
    lines = done.stdout.splitlines()
    assert done.returncode == 1
    assert "1 of 2 gates failed" in lines[0]  # the glob gate is one gate, however many metrics it checks
    assert f"`{short}` →" in lines[2] and f"({short})" not in lines[2]
    table = {line.split("|")[1].strip(): line for line in lines if line.startswith("| ")}
    assert "🔴" not in table["acc"] and "🟢" not in table["acc"]  # -0.00003: below the shown precision
    assert "🔴" not in table["f1"]  # -0.0002 is -0.0%: neutral too
    assert "🟢" in table["loss"]
    document = json.loads(
        run_cli("report", "--base", base, "--head", head, "--format", "json", cwd=repo.root).stdout
    )
    summary = document["summary"]
    assert (summary["gates_total"], summary["gates_failed"]) == (2, 1)
    assert (summary["checks_total"], summary["checks_failed"]) == (4, 1)


def test_a_renamed_file_stays_in_its_models_section(tmp_path: Path) -> None:
    repo = init_dvc_repo(tmp_path)
    repo.write("dvc.yaml", "metrics:\n  - scores.json\n")
    repo.write("scores.json", json.dumps({"auc": 0.8}))
    repo.write(
        "mlci.yaml",
        yaml.safe_dump(
            {
                "models": {"clf": {"path": "model.pkl", "metrics": ["scores.json"]}},
                "gates": [{"metric": "auc", "model": "clf", "min": 0.5}],
            }
        ),
    )
    base = repo.commit("base")
    repo.git("mv", "scores.json", "eval.json")
    repo.write("dvc.yaml", "metrics:\n  - eval.json\n")
    head = repo.commit("renamed")
    code, document, err = report_json(repo, base, head)
    assert code == 0, err
    (row,) = document["metrics"]
    assert (row["model"], row["file"], row["moved_from"]) == ("clf", "eval.json", "scores.json")
    (gate,) = document["gates"]
    assert gate["passed"] and gate["file"] == "eval.json"
