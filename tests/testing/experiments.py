"""A pull request with DVC experiments, as a team makes one: `dvc exp run -S …` on main, on two commits of a
feature branch, pushed with `dvc exp push` to a bare origin that `git_http.GitHttpServer` serves; and many
more experiments made cheaply with git plumbing (`git fast-import`), which DVC reads as real ones."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.repo.git import git
from tests.testing.report import BuiltRepo, init_dvc_repo

TRAIN_PY = textwrap.dedent(
    """
    import json, yaml
    p = yaml.safe_load(open("params.yaml"))
    lr, depth = p["train"]["lr"], p["train"]["depth"]
    json.dump({"acc": round(0.5 + lr, 6), "loss": round(1 / (1 + lr), 6), "trees": depth * 10},
              open("metrics.json", "w"))
    json.dump({"auc": round(0.6 + lr / 2, 6)}, open("cached.json", "w"))
    """
)

DVC_YAML = textwrap.dedent(
    """
    stages:
      train:
        cmd: python train.py
        deps: [train.py]
        params: [train]
        metrics:
          - metrics.json:
              cache: false
          - cached.json
    """
)


@dataclass
class PullRequest:
    repo: BuiltRepo
    origin: Path  # the bare origin
    base: str  # main's commit
    first: str  # the PR's first commit
    head: str  # the PR's head commit


def params_yaml(lr: float, depth: int) -> str:
    return f"train:\n  lr: {lr}\n  depth: {depth}\n"


def exp_run(repo: BuiltRepo, *sets: str, name: str = "") -> None:
    args = [a for s in sets for a in ("-S", s)]
    repo.dvc("exp", "run", "-q", *args, *(("-n", name) if name else ()))


def pull_request(tmp: Path, config: dict[str, Any] | None = None) -> PullRequest:
    """main (2 experiments), the PR's first commit (2) and head (3, one named by DVC), all pushed;
    `config`: the project's mlci.yaml."""
    import yaml

    repo = init_dvc_repo(tmp)
    origin = tmp / "origin.git"
    git(tmp, "init", "-q", "--bare", str(origin))
    repo.git("remote", "add", "origin", str(origin))
    repo.write("train.py", TRAIN_PY)
    repo.write("dvc.yaml", DVC_YAML)
    repo.write(".gitignore", "/cached.json\n")
    repo.write("params.yaml", params_yaml(0.1, 2))
    repo.write("mlci.yaml", yaml.safe_dump(config or {}))
    base = repo.repro_commit("base")
    exp_run(repo, "train.lr=0.05", name="main-a")
    exp_run(repo, "train.lr=0.15", name="main-b")
    repo.git("push", "-q", "origin", "main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("params.yaml", params_yaml(0.2, 2))
    first = repo.repro_commit("first")
    exp_run(repo, "train.lr=0.25", name="early-a")
    exp_run(repo, "train.lr=0.01", "train.depth=5", name="early-b")
    repo.write("params.yaml", params_yaml(0.3, 3))
    head = repo.repro_commit("head")
    exp_run(repo, "train.lr=0.35", name="head-best")
    exp_run(repo, "train.lr=0.32", "train.depth=4", name="head-b")
    exp_run(repo, "train.lr=0.02")  # DVC names it
    repo.git("push", "-q", "origin", "feature")
    repo.dvc("exp", "push", "-q", "-A", "origin")
    return PullRequest(repo, origin, base, first, head)


def plumb_experiments(root: Path, baseline: str, count: int, *, names: list[str] | None = None) -> list[str]:
    """`count` experiments on `baseline` made by `git fast-import` (one process): each a commit on the
    baseline with its own params.yaml and metrics.json (the baseline's DVC-cached outputs), under DVC's
    ref `refs/exps/<sha[:2]>/<sha[2:]>/<name>`. Returns the names."""
    names = names or [f"plumb-{i:04d}" for i in range(count)]
    stream: list[bytes] = []
    for i, name in enumerate(names):
        lr = round(0.001 * (i + 1), 6)  # the later in `names`, the better (lower loss, higher acc)
        metrics = {"acc": round(0.5 + lr, 6), "loss": round(0.5 - lr / 10, 6), "trees": 10 * (2 + i % 7)}
        files = {"params.yaml": params_yaml(lr, 2 + i % 7), "metrics.json": json.dumps(metrics)}
        stream.append(_commit(f"refs/exps/{baseline[:2]}/{baseline[2:]}/{name}", baseline, i, files))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(stream), check=True)
    return names


def _commit(ref: str, parent: str, i: int, files: dict[str, str]) -> bytes:
    message = f"dvc: commit experiment {i}".encode()
    parts = [
        f"commit {ref}\n".encode(),
        f"committer mlci tests <tests@example.com> {1_700_000_000 + i} +0000\n".encode(),
        b"data %d\n%s\n" % (len(message), message),
        f"from {parent}\n".encode(),
    ]
    for path, text in files.items():
        data = text.encode()
        parts.append(f"M 100644 inline {path}\n".encode() + b"data %d\n%s\n" % (len(data), data))
    return b"".join(parts) + b"\n"


def shallow_clone(url: str, dest: Path, branch: str) -> Path:
    """What `actions/checkout` gives by default: one commit of the branch."""
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--branch", branch, url, str(dest)],
        check=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    return dest


def flat(data: Any, prefix: str = "") -> dict[str, Any]:
    """DVC's nested metrics as dotted keys (what `dvc metrics show` prints)."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def exp_show_metrics(exp_show: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """`dvc exp show --json` as experiment commit -> metrics file -> dotted key -> value."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for baseline in exp_show:
        rows = [baseline] + [r for e in baseline.get("experiments") or [] for r in e["revs"]]
        for row in rows:
            data = row.get("data") or {}
            metrics = data.get("metrics") or {}
            found[row["rev"]] = {f: flat(v.get("data") or {}) for f, v in metrics.items()}
    return found
