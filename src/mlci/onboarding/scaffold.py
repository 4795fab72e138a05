"""What `mlci init` writes: mlci.yaml with the models found in dvc.yaml, and caller workflows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci import __version__
from mlci.errors import MlciError
from mlci.mlflow.client import SECRETS as MLFLOW_SECRETS
from mlci.onboarding import releases
from mlci.onboarding.candidates import Decision, by_stage
from mlci.readers import read_yaml
from mlci.render import render
from mlci.repo import remote as dvc_remote
from mlci.repo.tables import SUFFIXES as TABLE_SUFFIXES

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
    path: str  # "" for a registered model no dvc.yaml output was matched to
    stage: str
    metrics: tuple[str, ...]
    data: str  # tabular training data mlci can read, or ""
    data_note: str = ""  # why `data` is left out, for the comment in mlci.yaml
    source: str = ""  # where the name comes from: "artifacts", "registry" or "" (from the file name)


def find_models(root: Path, registered: Sequence[str] = ()) -> list[Found]:
    """The project's models, named as the project already names them.

    Names come first from the registry tags (`registered`: a repository that has `NAME@vX.Y.Z` tags keeps
    those names, so deploys extend that registry and the monitor finds the model in `prod`), then from
    the `artifacts:` dvc.yaml declares (DVC's and GTO's model names), and only then from the file name of
    a stage output that looks like a model (by suffix, or living under models/).
    """
    document = _dvc_yaml(root)
    stages = {k: v for k, v in (document.get("stages") or {}).items() if isinstance(v, dict)}
    metrics = tuple(sorted({_path(m) for stage in stages.values() for m in stage.get("metrics", [])}))
    outputs = {_path(o): name for name, stage in stages.items() for o in _outs(stage)}

    candidates: list[tuple[str, str, str]] = []  # (name, path, source)
    artifacts = document.get("artifacts") or {}
    for name, spec in artifacts.items() if isinstance(artifacts, dict) else ():
        if isinstance(spec, dict) and spec.get("path") and spec.get("type", "model") == "model":
            candidates.append((str(name), _norm(str(spec["path"])), "artifacts"))
    decisions, _ = _by_stage(document, {path for _, path, _ in candidates})
    candidates += [("", d.path, "") for d in decisions]
    candidates = _registered_names(candidates, registered)

    found: list[Found] = []
    for name, path, source in candidates:
        stage_name = outputs.get(path, "")
        data, note = _training_data(root, stages.get(stage_name, {}), stage_name, outputs)
        taken = {f.name for f in found} | {n for n, _, _ in candidates if n} | set(registered)
        unique = name or _model_name(path, stage_name, taken)
        found.append(Found(unique, path, stage_name, metrics, data, note, source))
    names = {f.name for f in found}
    for name in registered:  # registered, but no output of dvc.yaml could be matched to it
        if name not in names:
            note = "no CSV or Parquet data known for it"
            found.append(Found(name, "", "", metrics, "", note, "registry"))
    return found


def model_decisions(root: Path) -> list[str]:
    """Why `find_models` took each stage's output for a model, and left other files out, one line each."""
    document = _dvc_yaml(root)
    artifacts = document.get("artifacts") or {}
    models = {
        str(name): _norm(str(spec["path"]))
        for name, spec in (artifacts.items() if isinstance(artifacts, dict) else ())
        if isinstance(spec, dict) and spec.get("path") and spec.get("type", "model") == "model"
    }
    decisions, notes = _by_stage(document, set(models.values()))
    named = [f"{name}: {path}, declared under `artifacts:` in dvc.yaml" for name, path in models.items()]
    return named + [d.why for d in decisions] + notes


def _dvc_yaml(root: Path) -> dict[str, Any]:
    try:
        document = read_yaml(root / "dvc.yaml", "dvc.yaml") or {}
    except MlciError as exc:
        raise MlciError(
            f"dvc.yaml cannot be read: {exc}", "fix dvc.yaml (`dvc stage list` shows what DVC sees)"
        ) from None
    return document if isinstance(document, dict) else {}


def _by_stage(document: dict[str, Any], declared: set[str]) -> tuple[list[Decision], list[str]]:
    """The model-looking stage outputs not declared as artifacts, one per stage (onboarding.candidates)."""
    stages = {k: v for k, v in (document.get("stages") or {}).items() if isinstance(v, dict)}
    outputs = {_path(o): name for name, stage in stages.items() for o in _outs(stage)}
    named_stages = {outputs.get(path) for path in declared}  # their other outputs are no model of their own
    looks = [
        path
        for path in (_path(o) for stage in stages.values() for o in stage.get("outs") or [] if o)
        if path not in declared
        and outputs.get(path) not in named_stages
        and (path.endswith(MODEL_SUFFIXES) or path.startswith("models/"))
    ]
    inputs = {name: {_path(d) for d in stage.get("deps") or [] if d} for name, stage in stages.items()}
    return by_stage(looks, outputs, inputs, MODEL_SUFFIXES)


def _registered_names(
    candidates: list[tuple[str, str, str]], registered: Sequence[str]
) -> list[tuple[str, str, str]]:
    """A registered name that no candidate has yet goes to the one model the project has when there is
    exactly one such name and one model named only after its file: the registry is the project's."""
    names = {name for name, _, _ in candidates}
    missing = [name for name in registered if name not in names]
    unnamed = [i for i, (name, _, source) in enumerate(candidates) if not source]
    if len(missing) == 1 and len(unnamed) == 1 and not any(source for _, _, source in candidates):
        i = unnamed[0]
        candidates[i] = (missing[0], candidates[i][1], "registry")
    return [
        (name, path, "registry" if name in registered and source else source)
        for name, path, source in candidates
    ]


def _outs(stage: dict[str, Any]) -> list[Any]:
    return [o for key in ("outs", "metrics", "plots") for o in stage.get(key) or [] if o]


def _path(entry: Any) -> str:
    return _norm(str(next(iter(entry)) if isinstance(entry, dict) else entry))


def _norm(path: str) -> str:
    return path.removeprefix("./").rstrip("/")


def _training_data(
    root: Path, stage: dict[str, Any], stage_name: str, outputs: dict[str, str]
) -> tuple[str, str]:
    """The stage's first dependency that is tabular data mlci can read (CSV or Parquet, present or
    tracked by DVC), or "" and what to say instead."""
    deps = [_path(d) for d in stage.get("deps") or [] if d]
    for dep in deps:
        if dep.lower().endswith(TABLE_SUFFIXES) and _available(root, dep, outputs):
            return dep, ""
        if _table_folder(root, dep) and _available(root, dep, outputs):
            return dep, ""
    if not stage_name:
        return "", "no stage of dvc.yaml produces it"
    unreadable = [d for d in deps if d.startswith("data/") or _looks_tabular(d)]
    if unreadable:
        return "", f"stage '{stage_name}' reads {unreadable[0]}, not a CSV or Parquet file mlci can read"
    return "", f"no CSV or Parquet dependency of stage '{stage_name}'"


def _table_folder(root: Path, path: str) -> bool:
    """A folder of CSV/Parquet files: in the work tree, or as DVC recorded it (the `.dir` listing of a
    DVC-tracked folder in the local cache, when it is there)."""
    folder = root / path
    if folder.is_dir():
        return any(p.is_file() and p.name.lower().endswith(TABLE_SUFFIXES) for p in folder.rglob("*"))
    return any(name.lower().endswith(TABLE_SUFFIXES) for name in _recorded_listing(root, path))


def _recorded_listing(root: Path, path: str) -> list[str]:
    """The files DVC recorded in a tracked folder (`PATH.dvc`), read from the `.dir` object in the local
    cache (DVC 3 and 2 layouts); [] when it is not tracked that way or not in the cache."""
    import json

    try:
        recorded = read_yaml(root / f"{path}.dvc", f"{path}.dvc") or {}
        md5 = str((recorded.get("outs") or [{}])[0].get("md5", ""))
    except (MlciError, AttributeError, IndexError):  # not readable as DVC wrote it: not offered
        return []
    if not md5.endswith(".dir"):
        return []
    for cache in (root / ".dvc" / "cache" / "files" / "md5", root / ".dvc" / "cache"):
        listing = cache / md5[:2] / md5[2:]
        if listing.is_file():
            try:
                return [
                    str(entry.get("relpath", "")) for entry in json.loads(listing.read_text(encoding="utf-8"))
                ]
            except (OSError, ValueError, AttributeError):
                return []
    return []


def unmonitored(models: Sequence[Found]) -> list[str]:
    """For each model `mlci init` writes no monitoring for: why, and what would make it monitorable."""
    return [
        f"{m.name}: not monitored: {m.data_note or 'no tabular training data'}; set `models.{m.name}.data` "
        "in mlci.yaml to its training data as CSV or Parquet (a file, glob or folder) to monitor it"
        for m in models
        if not m.data
    ]


def _looks_tabular(path: str) -> bool:
    return path.lower().endswith((".tsv", ".jsonl", ".json", ".ndjson", ".xlsx", ".feather", ".arrow"))


def _available(root: Path, path: str, outputs: dict[str, str]) -> bool:
    """In the work tree, or tracked by DVC: a stage output, inside one, or under a `.dvc` file."""
    if (root / path).is_file():
        return True
    parts = Path(path).parts
    for i in range(len(parts), 0, -1):
        prefix = "/".join(parts[:i])
        if prefix in outputs or (root / f"{prefix}.dvc").is_file():
            return True
    return False


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


@dataclass(frozen=True)
class Secrets:
    """The repository secrets the project's DVC remotes need (`.dvc/config` and `config.local`)."""

    names: list[str]
    remotes: list[str]  # "'storage' (s3://bucket/path)" for each remote that needs some

    @classmethod
    def of(cls, root: Path) -> Secrets:
        remotes, _ = dvc_remote.all_remotes(root)
        needing = [r for r in remotes if dvc_remote.secrets_needed([r])]
        return cls(dvc_remote.secrets_needed(remotes), [r.describe() for r in needing])


def render_files(
    root: Path, ref: str, registered: Sequence[str] = (), top: Path | None = None
) -> dict[str, str]:
    """Path relative to the git root `top` (default: `root`) → text of everything init writes; a DVC
    project below the git root gets its mlci.yaml in its folder and callers that pass that folder as
    `working-directory`. `registered`: the model names the registry tags already use."""
    top = top or root
    folder = root.relative_to(top).as_posix()
    prefix = "" if folder == "." else f"{folder}/"
    models = find_models(root, registered)
    requirements = find_requirements(root)
    context: dict[str, Any] = {
        "models": models,
        "version": __version__,
        "ref": ref,
        "repository": releases.REPOSITORY,
        "package": f"git+https://github.com/{releases.REPOSITORY}@{ref}",
        "requirements": f"{prefix}{requirements}" if requirements else "",  # jobs install from the git root
        "working_directory": folder if prefix else "",
        "secrets": Secrets.of(root).names,  # only what the project's remotes need
        "mlflow_secrets": [name for name, _ in MLFLOW_SECRETS],  # written commented out (docs/mlflow.md)
    }
    monitored = [m.name for m in models if m.data]
    # a monitor job per model only when some models cannot be monitored (the reusable workflow's `model`)
    context["monitored"] = monitored if len(monitored) < len(models) else []
    files = {f"{prefix}mlci.yaml": render("init/mlci.yaml.j2", **context)}
    for name in WORKFLOWS:
        if name == "monitor" and not monitored:  # no tabular reference: every scheduled run would fail
            continue
        files[f".github/workflows/mlci-{name}.yml"] = render(f"init/mlci-{name}.yml.j2", **context)
    return files
