"""Which models a change touches: git diff + dvc.yaml, transitively through the DAG.

A stage is touched when its definition changed, a dependency changed in git (code, data in git),
a `.dvc` file covering a dependency changed (data under DVC), or one of the param keys it uses
changed value (other keys in the same params file do not count). Everything downstream of a
touched stage is touched too. A model is affected when one of its stages is.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlci.config import Config
from mlci.errors import MlciError
from mlci.repo import pipeline as pl
from mlci.repo.git import git, git_paths, merge_base

ALL = "all"  # the one implicit model when mlci.yaml declares none: the whole pipeline


@dataclass
class Affected:
    base: str  # the commit compared against ("" when there was none: everything is affected)
    models: list[str]
    reasons: dict[str, list[str]] = field(default_factory=dict)  # model -> why
    stages: dict[str, list[str]] = field(default_factory=dict)  # touched stage -> why
    changed_files: int = 0


def model_names(config: Config) -> list[str]:
    return list(config.models) or [ALL]


def everything(config: Config, why: str) -> Affected:
    names = model_names(config)
    return Affected(base="", models=names, reasons={n: [why] for n in names})


def find_affected(root: Path, base: str, config: Config, head: pl.Pipeline) -> Affected:
    """Compare the work tree with `base` (its merge-base with HEAD, like a PR diff)."""
    since = merge_base(root, base) or base
    changed = _changed_files(root, since)
    snapshot = _BaseSnapshot(root, since)
    touched = _touched_stages(head, snapshot, changed)
    _propagate(head, touched)
    result = Affected(base=since, models=[], stages=touched, changed_files=len(changed))
    base_models = _models_section(snapshot.yaml("mlci.yaml"))
    head_file = root / "mlci.yaml"
    head_models = _models_section(_workspace_yaml(head_file, "mlci.yaml") if head_file.is_file() else {})
    for name in model_names(config):
        if name == ALL:
            why = [f"{s}: {r[0]}" for s, r in touched.items()]
        else:
            model = config.models[name]
            stages = pl.model_stages(head, name, model.stages, model.path)
            why = [f"{s}: {touched[s][0]}" for s in stages if s in touched]
            if name not in base_models:
                why.insert(0, "new model in mlci.yaml")
            elif _what_trains(base_models[name]) != _what_trains(head_models.get(name)):
                why.insert(0, "model changed in mlci.yaml")
        if why:
            result.models.append(name)
            result.reasons[name] = why
    return result


def _models_section(data: Any) -> dict[str, Any]:
    models = data.get("models") if isinstance(data, dict) else None
    return models if isinstance(models, dict) else {}


def _what_trains(entry: Any) -> Any:
    """The part of a model's entry that decides what trains it (a new description does not)."""
    return {k: entry.get(k) for k in ("path", "stages")} if isinstance(entry, dict) else entry


def _changed_files(root: Path, since: str) -> set[str]:
    """Committed and uncommitted changes since `since`, plus new untracked files."""
    diff = git_paths(root, "diff", "--name-only", "--no-renames", since)
    untracked = git_paths(root, "ls-files", "--others", "--exclude-standard")
    return {*diff, *untracked}


class _BaseSnapshot:
    """Files as they were at the base commit, read lazily with `git show`."""

    def __init__(self, root: Path, rev: str) -> None:
        self.root, self.rev = root, rev
        self._texts: dict[str, str | None] = {}
        self._yaml: dict[str, Any] = {}

    def text(self, path: str) -> str | None:
        if path not in self._texts:
            out = _show(self.root, self.rev, path) if self.rev else ""
            exists = bool(out) or bool(git(self.root, "ls-tree", self.rev, "--", path, check=False))
            self._texts[path] = out if exists else None
        return self._texts[path]

    def yaml(self, path: str) -> Any:
        if path not in self._yaml:
            self._yaml[path] = _load_yaml(self.text(path) or "")
        return self._yaml[path]

    def pipeline(self, files: tuple[str, ...]) -> pl.Pipeline:
        texts = {f: t for f in files if (t := self.text(f)) is not None}
        if any(pl.is_templated(t) for t in texts.values()):
            return pl.Pipeline(stages={}, files=())  # compared by group below
        try:
            return pl.parse(texts)
        except MlciError:  # broken at the base, fixed here: every stage counts as changed
            return pl.Pipeline(stages={}, files=())


def _show(root: Path, rev: str, path: str) -> str:
    """A file's text at `rev` ("" when absent); bytes that are not UTF-8 are replaced, not a crash."""
    import subprocess

    proc = subprocess.run(
        ["git", "-c", "diff.relative=true", "show", f"{rev}:./{path}"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    return proc.stdout.decode("utf-8", "replace").strip() if proc.returncode == 0 else ""


def _load_yaml(text: str) -> Any:
    """A file at the base revision, bounded; a broken one counts as empty (so it differs: affected)."""
    from mlci.readers import load_yaml

    try:
        data = load_yaml(text, "a file at the base revision")
    except MlciError:
        return {}
    return data if data is not None else {}


def _workspace_yaml(path: Path, name: str) -> Any:
    """A file of the working tree, bounded; a broken one is an MlciError naming line and column."""
    from mlci.readers import read_yaml

    data = read_yaml(path, name)
    return data if data is not None else {}


def _pointer_outs(file: Path, name: str) -> list[Any]:
    """The `outs` paths of a `.dvc` file; a shape DVC refuses is DVC's schema message (exit 2)."""
    data = _workspace_yaml(file, name)
    outs = data.get("outs") if isinstance(data, dict) else None
    if isinstance(data, dict) and (
        outs is None or (isinstance(outs, list) and all(isinstance(o, dict) for o in outs))
    ):
        return [o.get("path") for o in outs or []]
    from mlci.repo import dvcfiles

    dvcfiles.load(file.read_bytes(), name)
    raise MlciError(f"{name}: `outs` must be a list of mappings", "fix the file; `dvc status` checks it")


def _touched_stages(head: pl.Pipeline, snap: _BaseSnapshot, changed: set[str]) -> dict[str, list[str]]:
    base = snap.pipeline(head.files)
    templated = any(s.raw is None for s in head.stages.values())
    base_groups = _base_groups(head.files, snap) if templated else {}
    dvc_files = _changed_dvc_outs(snap.root, changed)
    current: dict[str, Any] = {}
    touched: dict[str, list[str]] = {}
    for stage in head.stages.values():
        reasons = _stage_reasons(stage, base, base_groups, changed, dvc_files)
        reasons += _param_reasons(stage, snap, changed, current)
        if reasons:
            touched[stage.name] = reasons
    return touched


def _base_groups(files: tuple[str, ...], snap: _BaseSnapshot) -> dict[str, Any]:
    """For templated pipelines: each dvc.yaml entry as written at base."""
    groups: dict[str, Any] = {}
    for f in files:
        stages = (snap.yaml(f) or {}).get("stages") if isinstance(snap.yaml(f), dict) else None
        for name, spec in (stages or {}).items():
            groups[name if f == "dvc.yaml" else f"{f}:{name}"] = spec
    return groups


def _stage_reasons(
    stage: pl.Stage,
    base: pl.Pipeline,
    base_groups: Mapping[str, Any],
    changed: set[str],
    dvc_outs: Mapping[str, str],
) -> list[str]:
    if stage.raw is None:  # resolved by DVC: compare the entry it came from
        prefix = stage.name.rsplit(":", 1)[0] + ":" if ":" in stage.name else ""
        if prefix + stage.group not in base_groups:
            return ["new stage"]
    elif stage.name not in base.stages:
        return ["new stage"]
    elif base.stages[stage.name].raw != stage.raw:
        return ["stage definition changed in dvc.yaml"]
    reasons = [
        f"changed: {path}" for path in sorted(changed) if any(pl.overlaps(d, path) for d in stage.deps)
    ]
    for out_path, dvc_file in dvc_outs.items():
        if any(pl.overlaps(d, out_path) for d in stage.deps):
            reasons.append(f"data changed: {dvc_file}")
    return reasons


def _changed_dvc_outs(root: Path, changed: set[str]) -> dict[str, str]:
    """{tracked path: its .dvc file} for every changed .dvc file (a deleted one counts too)."""
    result: dict[str, str] = {}
    for path in changed:
        if not path.endswith(".dvc"):
            continue
        outs = []
        file = root / path
        if file.is_file():
            outs = _pointer_outs(file, path)
        for out in outs or [posixpath.basename(path[: -len(".dvc")])]:
            result[pl.norm(posixpath.join(posixpath.dirname(path), str(out)))] = path
    return result


_MISSING = object()


def _param_reasons(
    stage: pl.Stage, snap: _BaseSnapshot, changed: set[str], current: dict[str, Any]
) -> list[str]:
    reasons: list[str] = []
    for file, keys in stage.params.items():
        if file not in changed:
            continue
        if file not in current:
            path = snap.root / file
            current[file] = _workspace_yaml(path, file) if path.is_file() else {}
        old, new = snap.yaml(file), current[file]
        if keys is None:
            if old != new:
                reasons.append(f"params changed: {file}")
            continue
        for key in keys:
            if _lookup(old, key) != _lookup(new, key):
                reasons.append(f"param changed: {key}" + ("" if file == pl.DEFAULT_PARAMS else f" ({file})"))
    return reasons


def _lookup(data: Any, dotted: str) -> Any:
    node = data
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _propagate(pipeline: pl.Pipeline, touched: dict[str, list[str]]) -> None:
    """Mark everything downstream of a touched stage, in pipeline order."""
    downstream = pipeline.downstream_map()
    todo = list(touched)
    while todo:
        name = todo.pop()
        for child in sorted(downstream[name]):
            if child not in touched:
                touched[child] = [f"upstream stage '{name}' changed"]
                todo.append(child)
