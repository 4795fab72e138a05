"""What `mlci init` writes: mlci.yaml with the models found in dvc.yaml, and caller workflows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci import __version__
from mlci.errors import MlciError
from mlci.onboarding import releases
from mlci.render import render

MODEL_SUFFIXES = (
    ".pkl",
    ".pickle",
    ".joblib",
    ".onnx",
    ".pt",
    ".pth",
    ".h5",
    ".keras",
    ".bin",
    ".model",
    ".cbm",
    ".ubj",
)
WORKFLOWS = ("train", "report", "report-post", "deploy", "monitor")
SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Found:
    name: str
    path: str
    stage: str
    metrics: tuple[str, ...]
    data: str


def find_models(root: Path) -> list[Found]:
    """Stage outputs that look like model files (by suffix, or living under models/)."""
    import yaml

    dvc_yaml = root / "dvc.yaml"
    try:
        stages = (yaml.safe_load(dvc_yaml.read_text(encoding="utf-8")) or {}).get("stages") or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MlciError(
            f"dvc.yaml cannot be read: {exc}", "fix dvc.yaml (`dvc stage list` shows what DVC sees)"
        ) from None
    metrics = tuple(
        sorted(
            {
                _path(m)
                for stage in stages.values()
                if isinstance(stage, dict)
                for m in stage.get("metrics", [])
            }
        )
    )
    found: list[Found] = []
    for stage_name, stage in stages.items():
        if not isinstance(stage, dict):
            continue
        for out in stage.get("outs", []):
            path = _path(out)
            if path.endswith(MODEL_SUFFIXES) or path.startswith("models/"):
                data = next((_path(d) for d in stage.get("deps", []) if _is_data(_path(d))), "")
                name = _model_name(path, stage_name, {f.name for f in found})
                found.append(Found(name, path, stage_name, metrics, data))
    return found


def _path(entry: Any) -> str:
    return str(next(iter(entry)) if isinstance(entry, dict) else entry)


def _is_data(path: str) -> bool:
    return path.endswith((".csv", ".parquet", ".tsv")) or path.startswith("data/")


def _model_name(path: str, stage: str, taken: set[str]) -> str:
    stem = Path(path).stem if Path(path).suffix else Path(path).name
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or stage
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def pin(ref: str | None) -> str:
    """The mlci commit the workflows are pinned to: --ref, else a commit of mlci that exists upstream.

    Raises MlciError (exit 2) when no such commit is known: a pin to an unpushed or unknown commit would
    make every workflow fail to resolve, so init refuses rather than write it."""
    if ref:
        if not SHA.match(ref):
            raise MlciError(
                f"--ref must be a full 40-character commit SHA, got '{ref}'",
                f"copy it from https://github.com/{releases.REPOSITORY}/commits",
            )
        return ref
    commit, why = releases.own_commit()
    if commit:
        return commit
    raise MlciError(
        f"no commit of {releases.REPOSITORY} to pin the workflows to: {why}",
        f"pass --ref <a commit SHA of {releases.REPOSITORY}>, or install mlci with "
        f"`pip install git+https://github.com/{releases.REPOSITORY}@<SHA>` and run `mlci init` again",
    )


REQUIREMENTS = ("requirements.txt", "src/requirements.txt", "requirements/requirements.txt")


def find_requirements(root: Path) -> str:
    """The project's pip requirements file (relative to the repository root), or "" when it has none:
    the jobs that run its stages or load its model install it."""
    return next((name for name in REQUIREMENTS if (root / name).is_file()), "")


def render_files(root: Path, ref: str) -> dict[str, str]:
    """Relative path → text of everything init writes."""
    models = find_models(root)
    context: dict[str, Any] = {
        "models": models,
        "version": __version__,
        "ref": ref,
        "repository": releases.REPOSITORY,
        "package": f"git+https://github.com/{releases.REPOSITORY}@{ref}",
        "requirements": find_requirements(root),
    }
    files = {"mlci.yaml": render("init/mlci.yaml.j2", **context)}
    for name in WORKFLOWS:
        files[f".github/workflows/mlci-{name}.yml"] = render(f"init/mlci-{name}.yml.j2", **context)
    return files
