"""The DVC pipeline as data: stages, their deps/params/outs and the DAG, read from `dvc.yaml` text.

Plain YAML parsing keeps `mlci affected` fast (no DVC Repo load). Templated pipelines (`foreach`,
`matrix`, `${...}`) are resolved by DVC itself (`load_with_dvc`), the one source of truth for them.
"""

from __future__ import annotations

import bisect
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlci.errors import MlciError

DEFAULT_PARAMS = "params.yaml"


@dataclass(frozen=True)
class Out:
    path: str  # repo-relative, posix
    cache: bool = True
    kind: str = "out"  # out | metrics | plots


@dataclass(frozen=True)
class Stage:
    name: str  # DVC's address: "train", "sub/dvc.yaml:train", "train@a"
    deps: tuple[str, ...] = ()
    params: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)  # file -> keys (None: all)
    outs: tuple[Out, ...] = ()
    raw: Any = None  # the stage's definition as written, to see edits to cmd/deps/outs
    group: str = ""  # the dvc.yaml entry it came from (differs from name for foreach/matrix)

    @property
    def uncached(self) -> tuple[Out, ...]:
        return tuple(o for o in self.outs if not o.cache)


@dataclass(frozen=True)
class Pipeline:
    stages: dict[str, Stage]
    files: tuple[str, ...]  # the dvc.yaml files read

    def producers(self, stage: Stage) -> list[str]:
        """Stages whose outputs this stage depends on."""
        found: list[str] = []
        for dep in stage.deps:
            for name in self.producing(dep):
                if name != stage.name and name not in found:
                    found.append(name)
        return found

    def downstream_map(self) -> dict[str, set[str]]:
        result: dict[str, set[str]] = {name: set() for name in self.stages}
        for stage in self.stages.values():
            for producer in self.producers(stage):
                result[producer].add(stage.name)
        return result

    def producing(self, path: str) -> list[str]:
        """Stages with an output at, inside or containing `path`."""
        path = norm(path)
        index = self._out_index()
        names = [name for p in _parents(path) for name in index.get(p, ())]
        prefix = path + "/"  # outputs inside a folder the path names: a range of the sorted paths
        ordered = self._sorted_outs()
        for i in range(bisect.bisect_left(ordered, prefix), len(ordered)):
            if not ordered[i].startswith(prefix):
                break
            names += index[ordered[i]]
        return list(dict.fromkeys(names))

    def _sorted_outs(self) -> list[str]:
        cached: list[str] | None = self.__dict__.get("_sorted")
        if cached is None:
            cached = sorted(self._out_index())
            object.__setattr__(self, "_sorted", cached)
        return cached

    def _out_index(self) -> dict[str, list[str]]:
        cached: dict[str, list[str]] | None = self.__dict__.get("_index")
        if cached is None:
            cached = {}
            for stage in self.stages.values():
                for out in stage.outs:
                    cached.setdefault(out.path, []).append(stage.name)
            object.__setattr__(self, "_index", cached)
        return cached


def _parents(path: str) -> list[str]:
    """The path and each folder above it: 'a/b/c' -> ['a/b/c', 'a/b', 'a']."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]


def norm(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).lstrip("/")


def overlaps(a: str, b: str) -> bool:
    """The same path, or one inside the other (a dep on a folder sees files in it, and back)."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def is_templated(text: str) -> bool:
    return "${" in text or "foreach:" in text or "matrix:" in text


def load_yaml(text: str | bytes, name: str = "dvc.yaml") -> Any:
    """YAML through the one bounded reader (libyaml when present: ~10x faster on a big dvc.yaml)."""
    from mlci.readers import load_yaml as bounded

    return bounded(text, name)


def parse(files: Mapping[str, str]) -> Pipeline:
    """Parse {dvc.yaml path: its text} into a Pipeline; a broken file is an MlciError naming it (the line
    and column; for a shape DVC refuses, DVC's schema message)."""
    from mlci.readers import load_yaml as bounded_yaml

    stages: dict[str, Stage] = {}
    for path, text in sorted(files.items()):
        data = bounded_yaml(text, path, "fix the file; `dvc repro --dry` checks it") or {}
        if not plain_shape(data):
            from mlci.repo import dvcfiles

            dvcfiles.load(text, path)  # DVC's schema says what is wrong, with the line
            if not isinstance(data, dict) or not isinstance(data.get("stages", {}), dict):
                raise MlciError(f"{path}: `stages` must be a mapping of stage names to stages")
        entries = data.get("stages") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            continue
        folder = posixpath.dirname(path)
        for name, spec in entries.items():
            if not isinstance(spec, dict):
                raise MlciError(f"{path}: stage '{name}' must be a mapping")
            address = str(name) if path == "dvc.yaml" else f"{path}:{name}"
            stages[address] = _stage(address, str(name), folder, spec)
    return Pipeline(stages=stages, files=tuple(sorted(files)))


def plain_shape(data: Any) -> bool:
    """Whether a dvc.yaml document has the shapes mlci reads (a stage mapping; lists of paths, of
    `{path: options}` and of params); anything else goes to DVC's schema for its message."""
    if not isinstance(data, dict):
        return False
    entries = data.get("stages", {})
    if not isinstance(entries, dict):
        return False
    return all(isinstance(spec, dict) and _plain_stage(spec) for spec in entries.values())


def _plain_stage(spec: Mapping[str, Any]) -> bool:
    def listed(key: str, item_ok: Any) -> bool:
        items = spec.get(key)
        return items is None or (isinstance(items, list) and all(item_ok(i) for i in items))

    def out_ok(item: Any) -> bool:
        return isinstance(item, str) or (
            isinstance(item, dict)
            and len(item) == 1
            and isinstance(next(iter(item.values())), (dict, type(None)))
        )

    def param_ok(item: Any) -> bool:
        return isinstance(item, str) or (
            isinstance(item, dict) and all(v is None or isinstance(v, list) for v in item.values())
        )

    cmd_ok = isinstance(spec.get("cmd", ""), (str, list)) and isinstance(spec.get("wdir", "."), str)
    outs_ok = all(listed(key, out_ok) for key in ("outs", "metrics", "plots"))
    return cmd_ok and listed("deps", lambda d: isinstance(d, str)) and outs_ok and listed("params", param_ok)


def _stage(address: str, group: str, folder: str, spec: Mapping[str, Any]) -> Stage:
    base = norm(posixpath.join(folder, str(spec.get("wdir", ".")))) if folder or spec.get("wdir") else ""

    def rel(p: str) -> str:
        return norm(posixpath.join(base, p)) if base and base != "." else norm(p)

    deps = tuple(rel(str(d)) for d in _names(spec.get("deps")))
    outs: list[Out] = []
    for kind in ("outs", "metrics", "plots"):
        for item in spec.get(kind) or []:
            name, options = _entry(item)
            outs.append(Out(rel(name), cache=bool(options.get("cache", True)), kind=kind))
    params: dict[str, tuple[str, ...] | None] = {}
    for item in spec.get("params") or []:
        if isinstance(item, dict):
            for file, keys in item.items():
                params[rel(str(file))] = None if not keys else tuple(str(k) for k in keys)
        else:
            current = params.setdefault(rel(DEFAULT_PARAMS), ())
            if current is not None:
                params[rel(DEFAULT_PARAMS)] = (*current, str(item))
    return Stage(address, deps, params, tuple(outs), raw=dict(spec), group=group)


def _names(items: Any) -> list[str]:
    return [_entry(i)[0] for i in (items or [])]


def _entry(item: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(item, dict):
        name, options = next(iter(item.items()))
        return str(name), dict(options) if isinstance(options, dict) else {}
    return str(item), {}


def read(root: Path) -> Pipeline:
    """The working tree's pipeline (every tracked or new dvc.yaml)."""
    from mlci.readers import decode, read_bytes

    files = {}
    for path in find_files(root):
        name = str(path.relative_to(root).as_posix())
        files[name] = decode(read_bytes(path, name), name)
    if any(is_templated(t) for t in files.values()):
        return load_with_dvc(root)
    return parse(files)


def find_files(root: Path) -> list[Path]:
    found = [root / "dvc.yaml"] if (root / "dvc.yaml").is_file() else []
    for path in root.rglob("dvc.yaml"):
        parts = path.relative_to(root).parts
        if path != root / "dvc.yaml" and not any(p.startswith(".") for p in parts):
            found.append(path)
    return found


def load_with_dvc(root: Path) -> Pipeline:
    """Let DVC resolve templated stages (foreach/matrix/vars): slower, but exactly DVC's reading."""
    from dvc.repo import Repo

    stages: dict[str, Stage] = {}
    files: set[str] = set()
    with Repo(str(root)) as repo:
        for st in repo.index.stages:
            if not getattr(st, "cmd", None):
                continue  # .dvc files are data, not stages
            dvcfile = Path(st.path).relative_to(root).as_posix()
            files.add(dvcfile)
            deps, params = [], {}
            for dep in st.deps:
                rel = norm(Path(dep.fs_path).relative_to(root).as_posix())
                if getattr(dep, "params", None) is not None and type(dep).__name__ == "ParamsDependency":
                    params[rel] = tuple(dep.params) or None
                else:
                    deps.append(rel)
            outs = tuple(
                Out(norm(Path(o.fs_path).relative_to(root).as_posix()), bool(o.use_cache), _kind(o))
                for o in st.outs
            )
            address = st.name if dvcfile == "dvc.yaml" else f"{dvcfile}:{st.name}"
            group = st.name.split("@", 1)[0]
            stages[address] = Stage(address, tuple(deps), params, outs, raw=None, group=group)
    return Pipeline(stages=stages, files=tuple(sorted(files)))


def _kind(out: Any) -> str:
    return "metrics" if getattr(out, "metric", None) else "plots" if getattr(out, "plot", None) else "out"


def closure(pipeline: Pipeline, names: Iterable[str]) -> list[str]:
    """The named stages and everything upstream of them, in pipeline order."""
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted.add(name)
        todo.extend(pipeline.producers(pipeline.stages[name]))
    return [n for n in pipeline.stages if n in wanted]


def model_stages(pipeline: Pipeline, name: str, stages: Iterable[str], path: str) -> list[str]:
    """The stages that produce a model: `stages:` from mlci.yaml, else the stage whose out is `path`."""
    listed = list(stages)
    if listed:
        unknown = [s for s in listed if s not in pipeline.stages]
        if unknown:
            raise MlciError(
                f"mlci.yaml: model '{name}' names stage '{unknown[0]}', which is not in dvc.yaml",
                "known stages: " + ", ".join(pipeline.stages),
            )
        return listed
    if not path:
        raise MlciError(
            f"mlci.yaml: model '{name}' has neither 'path' nor 'stages'",
            "set `path:` to the model file a dvc.yaml stage outputs, or list its `stages:`",
        )
    found = pipeline.producing(path)
    if not found:
        raise MlciError(
            f"mlci.yaml: model '{name}' has path '{path}', which no dvc.yaml stage outputs",
            "fix `path:` or list the model's `stages:` in mlci.yaml",
        )
    return found
