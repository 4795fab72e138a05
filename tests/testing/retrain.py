"""Helpers for the retrain tests: fresh data made from the example's own data, monitor reports, and
what is on `origin` and in the DVC remote (read with git and from the remote's files, not with mlci)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mlci.onboarding import example
from mlci.repo.git import git
from tests.testing.fake_github import FakeGitHub
from tests.testing.fixtures import ExampleRepo, run_cli

BRANCH = "mlci/retrain/classifier"


def drifted_rows(rows: int = 60, scale: float = 1.3, seed: int = 0) -> pd.DataFrame:
    """Labelled rows from the real data set, with larger tumours than the training data has seen."""
    frame = example.raw_frame().sample(n=rows, random_state=seed).reset_index(drop=True)
    frame["mean_radius"] = (frame["mean_radius"] * scale).round(3)
    frame["mean_area"] = (frame["mean_area"] * scale * scale).round(1)
    return frame


def write_fresh(folder: Path, frame: pd.DataFrame, name: str = "fresh.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def monitor_report(folder: Path, paths: list[Path], **extra: Any) -> Path:
    report = {
        "model": "classifier",
        "drift_detected": True,
        "retrain_needed": True,
        "current": {"paths": [str(p) for p in paths]},
        "columns": [
            {
                "name": "mean_radius",
                "drifted": True,
                "method": "psi",
                "score": 0.41,
                "threshold": 0.2,
                "reasons": ["PSI 0.41 ≥ 0.2"],
            },
            {"name": "mean_area", "drifted": True, "method": "psi", "score": 0.52, "threshold": 0.2},
            {"name": "mean_texture", "drifted": False, "method": "psi", "score": 0.01, "threshold": 0.2},
        ],
        "decay": None,
        "summary": "2 of 3 columns drifted",
        **extra,
    }
    path = folder / "monitor-report.json"
    path.write_text(json.dumps(report))
    return path


def online_env(fake: FakeGitHub, **extra: str) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": fake.token,
        "GITHUB_API_URL": fake.url,
        "GITHUB_REPOSITORY": fake.repository,
        **extra,
    }


def configure(repo: ExampleRepo, **retrain: Any) -> None:
    """Set `retrain:` keys in the example's mlci.yaml, commit and push to origin."""
    path = repo.root / "mlci.yaml"
    config = yaml.safe_load(path.read_text())
    config["retrain"] = {**config.get("retrain", {}), **retrain}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    repo.commit("Configure retraining")
    repo.git("push", "-q", "origin", "HEAD")


def retrain(repo: ExampleRepo, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_cli("retrain", *args, cwd=repo.root, env=env)


def origin_sha(repo: ExampleRepo, ref: str = BRANCH) -> str:
    return git(repo.origin, "rev-parse", "--verify", "--quiet", f"refs/heads/{ref}", check=False)


def pointer_at(repo: ExampleRepo, rev: str, path: str = "data/raw.csv.dvc") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(git(repo.origin, "show", f"{rev}:{path}"))["outs"][0]
    return data


def remote_object(repo: ExampleRepo, md5: str) -> Path:
    """Where a local-directory DVC 3 remote keeps the file with this md5."""
    return repo.remote / "files" / "md5" / md5[:2] / md5[2:]


def data_on_branch(repo: ExampleRepo, rev: str = BRANCH) -> pd.DataFrame:
    """The dataset the branch points to, read from the DVC remote's own copy."""
    pointer = pointer_at(repo, rev)
    return pd.read_csv(io.BytesIO(remote_object(repo, pointer["md5"]).read_bytes()))


def commits_ahead(repo: ExampleRepo, rev: str = BRANCH, base: str = "main") -> int:
    return int(git(repo.origin, "rev-list", "--count", f"{base}..{rev}"))
