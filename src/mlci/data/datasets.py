"""Which tabular datasets a repo has, where to point at them, and what their content hash is.

Datasets are the ones `mlci.yaml` declares (`data.datasets`), or by default the DVC-tracked CSV and
Parquet files (or folders of them) that dvc.yaml stages depend on. The content hash at a revision
comes from what DVC already recorded (the `.dvc` file or dvc.lock), so it costs no data read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlci.config import Config, DatasetContract
from mlci.errors import MlciError
from mlci.repo.git import ensure_commit, git
from mlci.repo.recorded import recorded
from mlci.safety import one_line

TABULAR = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class Dataset:
    name: str
    path: str  # repo-relative, POSIX
    contract: DatasetContract | None  # declared in mlci.yaml
    anchor: tuple[str, int]  # file and line an annotation points at


def is_tabular(path: str) -> bool:
    return path.lower().endswith(TABULAR)


def discover(root: Path, config: Config, paths: tuple[str, ...] = ()) -> list[Dataset]:
    """The datasets to check: those named by `paths` (a declared name or a path), else all."""
    declared = {
        name: Dataset(name, _norm(c.path or name), c, _anchor(root, _norm(c.path or name)))
        for name, c in config.data.datasets.items()
    }
    found = declared or _undeclared(root)
    if not paths:
        return _inside(root, list(found.values()))
    chosen: list[Dataset] = []
    for wanted in paths:
        match = found.get(wanted) or next((d for d in found.values() if d.path == _norm(wanted)), None)
        if match is None:
            path = _norm(wanted)
            if not (root / path).resolve().is_relative_to(root.resolve()):
                raise MlciError(
                    f"'{one_line(wanted)}' is outside the repository",
                    "data check reads the data of this repository: pass a path inside it (e.g. data/train.csv)",
                )
            if not (is_tabular(path) or (root / path).is_dir()):
                known = ", ".join(sorted(found)) or "none"
                raise MlciError(
                    f"'{wanted}' is not a declared dataset nor a CSV/Parquet file or folder",
                    f"datasets here: {known}; or pass a path like data/train.csv",
                )
            match = Dataset(_name(path, set(found)), path, None, _anchor(root, path))
        chosen.append(match)
    return _inside(root, chosen)


def _inside(root: Path, datasets: list[Dataset]) -> list[Dataset]:
    """The datasets, each path (and each file of a folder) inside the repository by the one path rule
    (mlci.safety.repo_path): a link that leaves it is refused as `mlci report` refuses it."""
    from mlci.safety import repo_path

    for dataset in datasets:
        setting = f"the dataset {dataset.name}'s path"
        folder = repo_path(root, dataset.path, setting)
        if folder.is_dir():
            for file in _tabular_files(folder):
                repo_path(root, file.relative_to(root).as_posix(), setting)
    return datasets


def pipeline_data(root: Path) -> list[str]:
    """DVC-tracked tabular deps of the dvc.yaml stages, in file order, without repeats."""
    stages = _read_yaml(root / "dvc.yaml").get("stages") or {}
    if not isinstance(stages, dict):
        stages = {}
    outs: list[str] = []
    deps: list[str] = []
    for stage in stages.values():
        if not isinstance(stage, dict):
            continue
        outs.extend(_entry_path(o) for o in stage.get("outs") or [])
        deps.extend(_entry_path(d) for d in stage.get("deps") or [])
    result: list[str] = []
    for dep in deps:
        dep = _norm(dep)
        tracked = _dvc_file(root, dep) is not None or any(_within(dep, _norm(o)) for o in outs)
        tabular = is_tabular(dep) or ((root / dep).is_dir() and any(_tabular_files(root / dep)))
        if tracked and not tabular and not (root / dep).exists():  # a tracked folder not pulled
            from mlci.repo.tables import tracked_tables

            tabular = bool(tracked_tables(root, dep))
        if tracked and tabular and dep not in result:
            result.append(dep)
    return result


def _entry_path(entry: Any) -> str:
    return str(next(iter(entry))) if isinstance(entry, dict) else str(entry)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _norm(path: str) -> str:
    """A repo-relative POSIX path: `./data\\x.csv` and `data/x.csv` name the same dataset."""
    text = str(PurePosixPath(path.replace("\\", "/")))
    while text.startswith("./"):
        text = text[2:]
    return text


def _undeclared(root: Path) -> dict[str, Dataset]:
    """The pipeline's datasets by name: the file's stem, or its whole path when two share a stem
    (`data_given/wine.csv` and `data/raw/wine.csv` are two datasets, never one)."""
    found: dict[str, Dataset] = {}
    for path in pipeline_data(root):
        name = _name(path, set(found))
        found[name] = Dataset(name, path, None, _anchor(root, path))
    return found


def _name(path: str, taken: set[str]) -> str:
    stem = PurePosixPath(path).stem or path
    return stem if stem not in taken else path.replace("/", "_")


def _tabular_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_tabular(p.name))


def _dvc_file(root: Path, path: str) -> str | None:
    """The `.dvc` file that tracks `path` (or a folder holding it), repo-relative."""
    parts = PurePosixPath(path).parts
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end]) + ".dvc"
        if (root / candidate).is_file():
            return candidate
    return None


def _anchor(root: Path, path: str) -> tuple[str, int]:
    """Where an annotation about `path` goes: its `.dvc` file, else its line in dvc.yaml."""
    dvc_file = _dvc_file(root, path)
    if dvc_file is not None:
        return dvc_file, 1
    for name in ("dvc.yaml", "mlci.yaml"):
        target = root / name
        if target.is_file():
            for number, line in enumerate(target.read_text(encoding="utf-8").splitlines(), 1):
                if path in line:
                    return name, number
    return path, 1


def _read_yaml(path: Path) -> dict[str, Any]:
    from mlci.readers import read_yaml
    from mlci.repo.pipeline import plain_shape

    if not path.is_file():
        return {}
    data = read_yaml(path, path.name, "fix the file, then run again")
    if path.name == "dvc.yaml" and not plain_shape(data if data is not None else {}):
        from mlci.repo import dvcfiles

        dvcfiles.load(path.read_bytes(), path.name)  # DVC's schema message, with the line
    return data if isinstance(data, dict) else {}


def changed_datasets(
    root: Path, base_rev: str, head_rev: str, config: Config
) -> tuple[str, str, list[Dataset]]:
    """(base commit, head commit, the datasets whose content differs between them). With no datasets at
    all, nothing is resolved or fetched: there is nothing to compare."""
    datasets = discover(root, config)
    if not datasets:
        return base_rev, head_rev, []
    base_rev, head_rev = ensure_commit(root, base_rev), ensure_commit(root, head_rev)  # shallow CI clones
    changed: list[Dataset] = []
    for d in datasets:
        head_hash = recorded_hash(root, head_rev, d.path)
        if head_hash is not None and head_hash != recorded_hash(root, base_rev, d.path):
            changed.append(d)  # a dataset the PR deletes has nothing left to check
    return base_rev, head_rev, changed


# --- content hashes -----------------------------------------------------------------------------


def recorded_hash(root: Path, rev: str, path: str) -> str | None:
    """The hash DVC recorded for `path` at `rev` (a `.dvc` file or dvc.lock), else git's blob id."""
    found = recorded(root, rev).hash_of(path)
    if found:
        return found
    blob = git(root, "rev-parse", "--verify", "--quiet", f"{rev}:./{path}", check=False)
    return f"git-{blob}" if blob else None


def _show(root: Path, rev: str, path: str) -> str:
    return git(root, "show", f"{rev}:./{path}", check=False)


def workspace_hash(root: Path, path: str) -> str | None:
    """md5 of the file's bytes (what DVC records for a file), or of a folder's files and names."""
    target = root / path
    if target.is_file():
        return _md5(target)
    if target.is_dir():
        digest = hashlib.md5()
        for file in _tabular_files(target):
            digest.update(f"{file.relative_to(target).as_posix()}\0{_md5(file)}\n".encode())
        return digest.hexdigest() + ".ws"
    return None


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
