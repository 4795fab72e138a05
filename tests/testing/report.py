"""Real git + DVC repositories for the report tests, built with DVC's own command line."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.onboarding import example
from mlci.repo.git import git

# A stage that writes metrics from params: nested keys, several files, YAML, and a DVC-cached file.
SCORE_PY = textwrap.dedent(
    """
    import json, pathlib, yaml
    p = yaml.safe_load(open("params.yaml"))["model"]
    a, b = p["alpha"], p["layers"]["depth"]
    pathlib.Path("eval").mkdir(exist_ok=True)
    json.dump({"val": {"acc": round(0.5 + a / 10, 6), "loss": 1 / (1 + a), "per_class": {"cat": a / 3}},
               "epochs": b}, open("eval/scores.json", "w"))
    speed = {"latency_ms": 10.0 * b + a, "name": "net-" + str(b), "ok": a > 1}
    yaml.safe_dump(speed, open("speed.yaml", "w"))
    json.dump({"auc": 0.7 + a / 100, "deep": {"nested": {"rmse": 2.0 / (1 + b)}}}, open("cached.json", "w"))
    pathlib.Path("model.bin").write_bytes(bytes(range(256)) * (b * 40))
    """
)

DVC_YAML = textwrap.dedent(
    """
    stages:
      score:
        cmd: python score.py
        deps: [score.py]
        params: [model]
        outs: [model.bin]
        metrics:
          - eval/scores.json:
              cache: false
          - speed.yaml:
              cache: false
          - cached.json
    """
)


@dataclass
class BuiltRepo:
    root: Path
    remote: Path

    def git(self, *args: str) -> str:
        return git(self.root, *args)

    def dvc(self, *args: str) -> str:
        return example.dvc(self.root, *args)

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def params(self, **model: Any) -> None:
        import yaml

        self.write("params.yaml", yaml.safe_dump({"model": model}))

    def repro_commit(self, message: str) -> str:
        self.dvc("repro", "-q")
        sha = self.commit(message)
        self.dvc("push", "-q")
        return sha


def init_dvc_repo(base: Path) -> BuiltRepo:
    root, remote = base / "repo", base / "remote"
    root.mkdir(parents=True)
    remote.mkdir()
    git(root, "init", "-q", "-b", "main")
    repo = BuiltRepo(root, remote)
    repo.dvc("init", "-q")
    repo.dvc("config", "core.analytics", "false")
    repo.dvc("remote", "add", "-d", "storage", str(remote))
    return repo


def scored_repo(base: Path) -> tuple[BuiltRepo, str, str]:
    """Nested keys, three metrics files (JSON, YAML, one DVC-cached), strings and booleans.

    Returns the repo and the base and head commits; the local DVC cache is emptied afterwards,
    so the cached metrics file must be streamed from the DVC remote.
    """
    repo = init_dvc_repo(base)
    repo.write("score.py", SCORE_PY)
    repo.write("dvc.yaml", DVC_YAML)
    repo.write(".gitignore", "/model.bin\n/cached.json\n")
    repo.params(alpha=1.0, layers={"depth": 2})
    first = repo.repro_commit("base")
    repo.params(alpha=2.5, layers={"depth": 3})
    second = repo.repro_commit("head")
    shutil.rmtree(repo.root / ".dvc" / "cache")
    return repo, first, second


def files_repo(base: Path) -> tuple[BuiltRepo, str, str]:
    """A .dvc-tracked data set that grows, a metrics file removed and one added (top-level
    `metrics:` in dvc.yaml), metrics in a subfolder, an integer metric."""
    repo = init_dvc_repo(base)
    repo.write("data/table.csv", "a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(100)))
    repo.dvc("add", "-q", "data/table.csv")
    repo.write("dvc.yaml", "metrics:\n  - reports/old.json\n  - reports/summary.yaml\n")
    repo.write("reports/old.json", json.dumps({"score": 0.5, "count": 10}))
    repo.write("reports/summary.yaml", "train:\n  mse: 0.25\n  r2: 0.8\n")
    first = repo.commit("base")
    repo.dvc("push", "-q")
    repo.write("data/table.csv", "a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(5000)))
    repo.dvc("add", "-q", "data/table.csv")
    (repo.root / "reports" / "old.json").unlink()
    repo.write("dvc.yaml", "metrics:\n  - reports/new.json\n  - reports/summary.yaml\n")
    repo.write("reports/new.json", json.dumps({"score": 0.75, "count": 12, "recall": 0.5}))
    repo.write("reports/summary.yaml", "train:\n  mse: 0.2\n  r2: 0.8\n")
    second = repo.commit("head")
    repo.dvc("push", "-q")
    return repo, first, second


def dvc_json(root: Path, *args: str) -> Any:
    """The oracle: DVC's own command line, as JSON."""
    out = example.dvc(root, *args, "--json")
    return json.loads(out) if out.strip() else {}


def python() -> str:
    return sys.executable
