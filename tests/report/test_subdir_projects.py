"""DVC projects below the git root (`dvc init --subdir`, one project per folder of a monorepo)."""

from __future__ import annotations

import json
from pathlib import Path

from mlci.repo.git import git
from tests.testing.fixtures import run_cli
from tests.testing.report import BuiltRepo, dvc_json, init_dvc_repo


def monorepo(tmp_path: Path) -> tuple[BuiltRepo, str, str]:
    """Two DVC projects, vision/ and text/, in one git repository; each has a stage, metrics and a
    .dvc-tracked dataset. Returns the repo and the base and head commits."""
    root = tmp_path / "mono"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    repo = BuiltRepo(root, tmp_path / "remote")
    for name, score in (("vision", 0.7), ("text", 0.4)):
        project = root / name
        project.mkdir()
        sub = BuiltRepo(project, tmp_path / f"remote-{name}")
        sub.dvc("init", "-q", "--subdir")
        sub.dvc("config", "core.analytics", "false")
        sub.write("dvc.yaml", "metrics:\n  - eval/metrics.json\n")
        sub.write("eval/metrics.json", json.dumps({"score": score}))
        sub.write("params.yaml", "lr: 0.1\n")
        sub.write("data/rows.csv", "a,b\n1,2\n")
        sub.dvc("add", "-q", "data/rows.csv")
    base = repo.commit("two projects")
    vision = BuiltRepo(root / "vision", tmp_path)
    vision.write("eval/metrics.json", json.dumps({"score": 0.75}))
    vision.write("params.yaml", "lr: 0.2\n")
    vision.write("data/rows.csv", "a,b\n1,2\n3,4\n")
    vision.dvc("add", "-q", "data/rows.csv")
    BuiltRepo(root / "text", tmp_path).write("eval/metrics.json", json.dumps({"score": 0.1}))
    head = repo.commit("vision improved, text got worse")
    return repo, base, head


def test_report_on_a_project_below_the_git_root(tmp_path: Path) -> None:
    repo, base, head = monorepo(tmp_path)
    vision = repo.root / "vision"
    for cwd, args in ((repo.root, ("-C", "vision")), (vision / "eval", ())):  # -C, or run from inside
        done = run_cli(*args, "report", "--base", base, "--head", head, "--format", "json", cwd=cwd)
        assert done.returncode == 0, done.stderr
        document = json.loads(done.stdout)
        oracle = dvc_json(vision, "metrics", "diff", base, head, "--all")
        ours = {(m["file"], m["key"]): (m["base"], m["head"]) for m in document["metrics"]}
        assert ours == {(f, k): (v["old"], v["new"]) for f, keys in oracle.items() for k, v in keys.items()}
        assert list(ours) == [("eval/metrics.json", "score")]  # relative to the project, not vision/…
        assert [(p["file"], p["key"]) for p in document["params"]] == [("params.yaml", "lr")]
        assert [d["path"] for d in document["data"]] == [
            "data/rows.csv"
        ]  # the other project's data is not here


def test_git_root_of_a_monorepo_names_its_projects(tmp_path: Path) -> None:
    repo, base, head = monorepo(tmp_path)
    done = run_cli("report", "--base", base, "--head", head, cwd=repo.root)
    assert done.returncode == 2
    assert "not a DVC project" in done.stderr and "text, vision" in done.stderr and "-C" in done.stderr


def test_init_in_a_project_below_the_git_root(tmp_path: Path) -> None:
    repo, _, _ = monorepo(tmp_path)
    (repo.root / "vision" / "requirements.txt").write_text("scikit-learn\n")
    done = run_cli("-C", "vision", "init", "--ref", "a" * 40, cwd=repo.root)
    assert done.returncode == 0, done.stderr
    assert (repo.root / "vision" / "mlci.yaml").is_file() and not (repo.root / "mlci.yaml").exists()
    assert (repo.root / "vision" / ".gitignore").read_text().endswith("/.mlci/\n")
    workflows = repo.root / ".github" / "workflows"  # where GitHub looks: the git root
    # no monitor caller: the project has no model a tabular dataset feeds (docs/init.md)
    assert not (workflows / "mlci-monitor.yml").exists()
    for name in ("train", "report", "deploy"):
        text = (workflows / f"mlci-{name}.yml").read_text()
        assert "working-directory: vision" in text, name
        # jobs that run the project's code install from the git root; the report never runs it
        assert ("requirements: vision/requirements.txt" in text) == (name != "report"), name
    assert not (repo.root / "vision" / ".github").exists()


def test_init_at_a_monorepo_root_names_the_projects(tmp_path: Path) -> None:
    repo, _, _ = monorepo(tmp_path)
    done = run_cli("init", "--dry-run", "--ref", "a" * 40, cwd=repo.root)
    assert done.returncode == 2 and "text, vision" in done.stderr and "mlci -C text init" in done.stderr


def test_a_params_row_says_which_projects_file_changed(tmp_path: Path) -> None:
    """Two pipelines in one repository (`a/dvc.yaml`, `b/dvc.yaml`), each with its own params.yaml:
    a change to one is named with its file, as the metrics rows are."""
    repo = init_dvc_repo(tmp_path)
    for name in ("a", "b"):
        repo.write(f"{name}/params.yaml", "lr: 0.1\n")
        repo.write(f"{name}/dvc.yaml", "stages:\n  fit:\n    cmd: echo fit\n    params: [lr]\n")
    base = repo.commit("two pipelines")
    repo.write("b/params.yaml", "lr: 0.2\n")
    head = repo.commit("b learns faster")
    proc = run_cli("report", "--base", base, "--head", head, "--format", "json", cwd=repo.root)
    assert proc.returncode == 0, proc.stderr
    assert [(p["file"], p["key"]) for p in json.loads(proc.stdout)["params"]] == [("b/params.yaml", "lr")]
    proc = run_cli("report", "--base", base, "--head", head, cwd=repo.root)
    assert "| b/params.yaml:lr" in proc.stdout, proc.stdout
