"""Read what a revision holds — metrics, params, tracked outputs, plot definitions — through one DVC Repo.

Everything goes through DVC's own readers (`repo.metrics.show`, `repo.params.show`, the index), so the
values are exactly the ones `dvc metrics diff` / `dvc params diff` compare, DVC-cached files included
(streamed from the DVC remote when they are not in the local cache). One `Repo` is opened per run and
switched between revisions: opening and indexing a repo is most of DVC's cost.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlci.errors import MlciError
from mlci.safety import check_inside, one_line

WORKSPACE = "workspace"
SERIAL_PLOT_FILES = 32  # plot files a revision reads in turn; more go through DVC's thread pool
Scalar = float | int | str | bool


@dataclass(frozen=True)
class TrackedOut:
    """One DVC-tracked output (from a .dvc file or dvc.lock) at one revision."""

    path: str
    md5: str
    size: int | None
    nfiles: int | None
    kind: str  # "data", "metric" or "plot"


@dataclass(frozen=True)
class Snapshot:
    """What one revision holds. Files are repo-relative POSIX paths."""

    rev: str
    metrics: dict[str, dict[str, Scalar]] = field(default_factory=dict)  # file -> dotted key -> value
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # file -> dotted key -> value
    outs: dict[str, TrackedOut] = field(default_factory=dict)
    plots: dict[str, Any] = field(default_factory=dict)  # DVC's `plots.show` result for this rev
    unread: dict[str, str] = field(default_factory=dict)  # declared metrics file -> why it is absent
    # of those, the ones a DVC remote kept back (it failed, or lacks the objects): the error, with its fix
    remote_failures: dict[str, MlciError] = field(default_factory=dict)


@contextmanager
def open_repo(root: Path | str) -> Iterator[Any]:
    """The one DVC Repo of a run; a folder that is not a DVC project is a clear error."""
    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    from mlci.repo.remote import offline_config

    try:  # an unreachable remote is left alone: the local cache answers, or the probe's error does
        repo = Repo(str(root), config=offline_config(Path(root)))
    except NotDvcRepoError:
        from mlci.repo.git import projects_below

        below = projects_below(Path(root))
        hint = (
            f"DVC projects below it: {', '.join(below)}; pass one with -C (the `working-directory` input)"
            if below
            else "run `dvc init` in the repository (`dvc init --subdir` for a project in a subfolder)"
        )
        raise MlciError(f"{Path(root).name} is not a DVC project (no .dvc folder)", hint) from None
    try:
        yield repo
    finally:
        repo.close()


class SharedRepo:
    """One DVC Repo for a whole run, opened (`open_repo`) only when first asked for (`get`); a `with`
    block closes it. Lets a run that may not need DVC at all (local files only) skip it."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._opened: AbstractContextManager[Any] | None = None
        self._repo: Any = None

    def get(self) -> Any:
        if self._opened is None:
            self._opened = open_repo(self.root)
            self._repo = self._opened.__enter__()
        return self._repo

    def __enter__(self) -> SharedRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._opened is not None:
            self._opened.__exit__(None, None, None)
            self._opened, self._repo = None, None


@contextmanager
def at_revision(repo: Any, rev: str | None) -> Iterator[RootedFiles]:
    """The files of `repo` switched to `rev` (None: the workspace), read through DVC."""
    with _switched(repo, rev):
        yield RootedFiles(repo.dvcfs)


class RootedFiles:
    """`repo.dvcfs` with paths relative to the DVC project's root, as `DVCFileSystem(root)` takes them.
    A switched Repo's file system resolves relative paths against the working folder (mlci may run in a
    subfolder): here "/" (the project's root) is put before them, and taken off what `find` returns."""

    def __init__(self, fs: Any) -> None:
        self.fs = fs
        self.repo = fs.repo

    @staticmethod
    def _rooted(path: str) -> str:
        return path if path.startswith("/") else "/" + path

    def info(self, path: str) -> Any:
        return self.fs.info(self._rooted(path))

    def find(self, path: str) -> list[str]:
        return [str(p).lstrip("/") for p in self.fs.find(self._rooted(path))]

    def get_file(self, path: str, to: str) -> None:
        self.fs.get_file(self._rooted(path), to)

    def open(self, path: str, mode: str = "rb") -> Any:
        return self.fs.open(self._rooted(path), mode=mode)


def read_snapshot(repo: Any, rev: str | None, *, plots: bool = False) -> Snapshot:
    """Metrics, params and outputs at `rev` (None = the workspace)."""
    from dvc.exceptions import DvcException

    from mlci.repo import dvcfiles

    label = rev or WORKSPACE
    root = Path(repo.root_dir)
    if rev is None:  # DVC reads the working tree through symlinks: none may lead out of the repository
        check_inside(root, workspace_files(root))
    _check_bounds(root, rev)
    with _switched(repo, rev):
        try:  # building the index parses dvc.yaml and the params files it interpolates
            outs = _outs(repo)
        except DvcException as exc:
            dvcfiles.raise_user_file_error(exc)
            raise MlciError(
                f"DVC cannot read the pipeline at revision {one_line(label)}: {one_line(str(exc))}",
                "fix dvc.yaml and the params files it uses at that revision (`dvc status` shows the same error)",
            ) from None
        unread: dict[str, str] = {}
        failures: dict[str, MlciError] = {}
        metrics = _metrics(repo, label, (unread, failures), rev, root)
        params = _params(repo, label)
        plot_data = _plots(repo, label) if plots else {}
    return Snapshot(label, metrics, params, outs, plot_data, unread, failures)


def workspace_files(root: Path) -> list[str]:
    """Every file a workspace snapshot may read: the dvc.yaml files, params.yaml, and each path their
    stages and top-level `metrics`/`params`/`plots` name (plain YAML; a broken file is DVC's to report)."""
    from mlci.repo import dvcfiles
    from mlci.repo.pipeline import find_files

    found = ["dvc.yaml", "params.yaml"]
    for file in find_files(root):
        folder = file.parent.relative_to(root).as_posix()
        found.append(file.relative_to(root).as_posix())
        data = dvcfiles.load(file.read_bytes(), file.relative_to(root).as_posix())  # exit 2 naming the line
        for key, path in _declared(data):
            full = os.path.normpath(os.path.join(folder, path))
            # external data is DVC's business: for deps and outs only links inside are checked
            if key not in ("deps", "outs") or not (full.startswith("..") or os.path.isabs(full)):
                found.append(full)
    return list(dict.fromkeys(found))


DATA_SUFFIXES = (".yaml", ".yml", ".json", ".lock", ".dvc")


def check_workspace_files(root: Path) -> None:
    """The workspace's dvc.yaml, dvc.lock, .dvc and params files bounded (size, depth, aliases) and
    schema-checked before DVC parses them: DVC's own parser would hang on an alias bomb in dvc.lock.
    Raises MlciError (exit 2) naming the file."""
    _check_bounds(root, None)


def _check_bounds(root: Path, rev: str | None) -> None:
    """Every YAML/JSON file DVC is about to parse at `rev`, bounded first (size, depth, aliases)."""
    from mlci.repo.git import GitError, git, git_paths

    if rev is None:
        pointers = git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "*.dvc")
        names = [*workspace_files(root), "dvc.lock", *filter(None, pointers.split("\0"))]
        for name in names:
            path = root / name
            if name.endswith(DATA_SUFFIXES) and path.is_file():
                _check_content(name, path.read_bytes())
        return
    try:
        listed = git_paths(root, "ls-tree", "-r", "-l", "--full-tree", rev)
    except GitError:
        listed = []
    blobs = {}
    for line in listed:
        meta, _, name = line.partition("\t")
        parts = meta.split()
        if len(parts) == 4 and parts[1] == "blob" and name.endswith(DATA_SUFFIXES):
            blobs[name] = (parts[2], parts[3])
    wanted = [
        n
        for n in blobs
        if posixpath.basename(n) in ("dvc.yaml", "dvc.lock", "params.yaml") or n.endswith(".dvc")
    ]
    texts = _check_blobs(root, wanted, blobs)
    pipelines = {n: texts[n] for n in wanted if n.endswith("dvc.yaml")}
    _check_blobs(root, _named_in_pipelines(pipelines, blobs), blobs)


def _check_blobs(root: Path, names: list[str], blobs: dict[str, tuple[str, str]]) -> dict[str, bytes]:
    """Check each named blob in order, as reading them one by one would: a too-big one fails without
    being read. Their bytes, read in one `git cat-file --batch` process."""
    from mlci.safety import MAX_DATA_BYTES, too_big

    sizes = [int(blobs[n][1]) if blobs[n][1].isdigit() else 0 for n in names]
    first_big = next((i for i, size in enumerate(sizes) if size > MAX_DATA_BYTES), len(names))
    contents = dict(
        zip(names[:first_big], _cat_blobs(root, [blobs[n][0] for n in names[:first_big]]), strict=True)
    )
    for name, data in contents.items():
        _check_content(name, data)
    if first_big < len(names):
        raise too_big(names[first_big], sizes[first_big])  # without reading it
    return contents


def _check_content(name: str, data: bytes) -> None:
    """Bounded; a dvc.yaml, dvc.lock or .dvc file also valid for DVC's schema (its message, with the line)."""
    from mlci.repo import dvcfiles
    from mlci.safety import check_data_file

    check_data_file(name, data)
    if dvcfiles.kind(name):
        dvcfiles.load(data, name)


def _cat_blobs(root: Path, shas: list[str]) -> list[bytes]:
    """The bytes of each blob, in order, from one `git cat-file --batch` (none: no process)."""
    import subprocess

    from mlci.repo.git import GitError

    if not shas:
        return []
    request = "".join(f"{sha}\n" for sha in shas).encode()
    proc = subprocess.run(
        ["git", "cat-file", "--batch"], cwd=root, input=request, capture_output=True, check=False
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git cat-file --batch failed: {detail[-1] if detail else proc.returncode}")
    out, found, pos = proc.stdout, [], 0
    for _ in shas:  # "<sha> blob <size>\n<bytes>\n" each
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        found.append(out[header_end + 1 : header_end + 1 + size])
        pos = header_end + 1 + size + 1
    return found


def _named_in_pipelines(pipelines: dict[str, bytes], blobs: dict[str, tuple[str, str]]) -> list[str]:
    from mlci.repo.pipeline import load_yaml

    found: list[str] = []
    for name, text in pipelines.items():
        try:
            data = load_yaml(text.decode("utf-8"))
        except Exception:  # DVC reports a broken file itself, naming it
            continue
        folder = posixpath.dirname(name)
        for path in _pipeline_paths(data):
            full = posixpath.normpath(posixpath.join(folder, path))
            if full in blobs and full not in found:
                found.append(full)
    return found


def _pipeline_paths(data: Any) -> list[str]:
    return [path for _, path in _declared(data)]


def _declared(data: Any) -> list[tuple[str, str]]:
    """(key, path relative to the dvc.yaml's folder) of each path a parsed dvc.yaml names: its stages'
    deps, outs, metrics, plots and params (under their `wdir`), and its top-level metrics/params/plots."""
    if not isinstance(data, dict):
        return []
    found: list[tuple[str, str]] = []
    stages = data.get("stages")
    entries = [data] + [
        s for s in (stages if isinstance(stages, dict) else {}).values() if isinstance(s, dict)
    ]
    for entry in entries:
        wdir = str(entry.get("wdir") or ".") if entry is not data else "."
        for key in ("deps", "outs", "metrics", "plots", "params"):
            items = entry.get(key)
            for item in items if isinstance(items, list) else []:
                names = list(item) if isinstance(item, dict) else [item]
                found += [(key, posixpath.normpath(posixpath.join(wdir, str(n)))) for n in names]
    return found


@contextmanager
def _switched(repo: Any, rev: str | None) -> Iterator[None]:
    if rev is None:
        yield
        return
    from dvc.scm import RevError

    try:
        ctx = repo.switch(rev)
        ctx.__enter__()
    except RevError:
        raise MlciError(
            f"revision '{one_line(rev)}' is not in this clone",
            "fetch it (`git fetch origin REV`) or check out with `fetch-depth: 0`",
        ) from None
    try:
        yield
    finally:
        ctx.__exit__(None, None, None)


def _posix(path: str) -> str:
    return path.replace(os.sep, "/")


def _metrics(
    repo: Any,
    label: str,
    absent: tuple[dict[str, str], dict[str, MlciError]],
    rev: str | None,
    root: Path,
) -> dict[str, dict[str, Scalar]]:
    """Values per declared metrics file; a declared file that is absent goes to `unread` with the reason
    (DVC warns and shows null; mlci reports it and fails the gates on it). A file that exists but cannot
    be parsed is an error."""
    unread, failures = absent  # why each absent file is absent; the remote's error when one caused it
    result = repo.metrics.show(hide_workspace=False, on_error="return")
    entry: Mapping[str, Any] = next(iter(result.values()), {})
    _raise_rev_error(entry, "metrics", label)
    files: dict[str, dict[str, Scalar]] = {}
    for path, file_result in sorted(entry.get("data", {}).items()):
        name = _posix(path)
        error = file_result.get("error")
        if error is not None:
            reason, failure = _unread_metrics(repo, name, error, (rev, label), root)
            unread[name] = reason
            if failure is not None:
                failures[name] = failure
            continue
        flat = _flat_metrics(name, label, file_result.get("data"))
        if flat is not None:
            files[name] = flat
    return files


def _unread_metrics(
    repo: Any, name: str, error: BaseException, at: tuple[str | None, str], root: Path
) -> tuple[str, MlciError | None]:
    """Why DVC could not read a declared metrics file, and the remote's error when one caused it; a file
    that is there but broken raises."""
    rev, label = at
    # a file inside a DVC-cached folder whose listing (.dir) is in neither cache: DVC's "failed to load
    # directory" is the remote's failure too, as a missing DVC-cached file is; root: DVC's moves in _switched
    lost = None
    if _is_missing(error):
        lost = _lost(root, name, rev)
    elif _is_unloaded_folder(error):  # the workspace's too: its folder is in DVC's index, not on disk
        from mlci.repo.remote import read_failure

        lost = read_failure(root, name, rev)
    if lost is not None:  # DVC-cached at that commit: the remote failed, or lacks its objects
        return f"{lost.message}; fix: {lost.hint}", lost
    if _is_missing(error):
        return (
            "dvc.yaml declares it, but it is not in the commit (where a cache: false file is "
            "committed) nor in the DVC cache or remote (where dvc push puts a DVC-cached one)"
        ), None
    text = re.sub(r"'(?:\.\./)+[^']*'", f"'{name}'", str(error))
    remote = _remote_error(repo, text, f"reading {name} at revision {label}")
    if remote is not None:  # the remote failed, not the file: the report goes on without it
        return (f"{remote.message}; fix: {remote.hint}" if remote.hint else remote.message), remote
    raise _file_error("metrics", name, label, error)


def _flat_metrics(name: str, label: str, data: Any) -> dict[str, Scalar] | None:
    """A metrics file's scalars by dotted key, as `dvc metrics show` flattens them; None for a list."""
    from dvc.utils.flatten import flatten

    if isinstance(data, dict):
        try:
            flat = flatten(data)
        except ValueError as exc:  # DVC itself crashes on this file: `dvc metrics diff` exits 255
            raise MlciError(
                f"cannot read metrics file {name} at revision {label}: {one_line(str(exc))} "
                "(a dotted key such as `a.b` next to a nested `a: {b: …}` names one metric twice)",
                "keep one of the two spellings of that key",
            ) from None
        return {str(k): v for k, v in flat.items() if _scalar(v)}
    if data is not None and not isinstance(data, list):
        raise MlciError(  # DVC's diff shows every key of such a file as "unable to parse"
            f"cannot read metrics file {name} at revision {label}: it holds a single value "
            f"({one_line(repr(data), 60)}), not a mapping of metric names to values",
            'write the metrics as a mapping, e.g. {"accuracy": 0.93}',
        )
    return None


def _file_error(kind: str, name: str, label: str, error: BaseException) -> MlciError:
    """A file DVC could not read, named relative to the project, with a hint that fits the cause."""
    from dvc.utils.serialize import ParseError

    text = str(error)
    if isinstance(error, ParseError):  # "unable to read: '<path from DVC's cwd>', <what is wrong>"
        why = text.split("', ", 1)[1] if "', " in text else text
        return MlciError(
            f"cannot parse {kind} file {name} at revision {label}: {one_line(why)}",
            "fix the file's syntax (JSON, YAML or TOML, as its extension says)",
        )
    text = re.sub(r"'(?:\.\./)+[^']*'", f"'{name}'", text)  # DVC quotes paths from its own cwd
    return MlciError(
        f"cannot read {kind} file {name} at revision {label}: {one_line(text)}",
        f"`dvc {kind} show` at that revision shows DVC's own error",
    )


def _lost(root: Path, name: str, rev: str | None) -> MlciError | None:
    """Why a DVC-cached file of commit `rev` could not be read (None for the workspace, where a missing
    file is one the pipeline did not write)."""
    from mlci.repo.remote import read_failure

    return read_failure(root, name, rev) if rev is not None else None


def _remote_error(repo: Any, text: str, action: str) -> MlciError | None:
    """The default remote's failure, when DVC's error text is one (a DVC-cached file is streamed from it)."""
    from mlci.repo.remote import RemoteError, explain_failure, from_config

    try:
        remote, _ = from_config(repo.config)
    except RemoteError:
        return None
    return explain_failure(remote, f"ERROR: {text}", action)


def _params(repo: Any, label: str) -> dict[str, dict[str, Any]]:
    from dvc.utils.flatten import flatten

    result = repo.params.show(hide_workspace=False, on_error="return")
    entry: Mapping[str, Any] = next(iter(result.values()), {})
    _raise_rev_error(entry, "params", label)
    files: dict[str, dict[str, Any]] = {}
    for path, file_result in sorted(entry.get("data", {}).items()):
        name = _posix(path)
        error = file_result.get("error")
        if error is not None:
            if _is_missing(error):
                continue
            raise _file_error("params", name, label, error)
        data = file_result.get("data")
        if isinstance(data, dict):
            files[name] = {str(k): v for k, v in flatten(data).items()}
    return files


def _outs(repo: Any) -> dict[str, TrackedOut]:
    outs: dict[str, TrackedOut] = {}
    for out in repo.index.outs:
        if not out.use_cache and not out.hash_info:
            continue
        path = _posix(repo.fs.relpath(out.fs_path, repo.root_dir))
        kind = "metric" if out.metric else "plot" if out.plot else "data"
        meta = out.meta
        outs[path] = TrackedOut(
            path=path,
            md5=str(out.hash_info.value or ""),
            size=meta.size if meta else None,
            nfiles=meta.nfiles if meta else None,
            kind=kind,
        )
    return outs


def _plots(repo: Any, label: str) -> dict[str, Any]:
    """DVC's `plots.show` result for the current revision: definitions and data (errors stay inside).

    `repo.plots.show(revs=...)` switches revisions itself and indexes the repo again for each one
    (about 0.2-0.4 s a revision), so this runs the same steps on the index already loaded here.
    """
    try:
        from dvc.repo.plots import (
            _collect_definitions,
            _get_data_targets,
            _resolve_data_sources,
            onerror_collect,
        )
    except ImportError:  # a DVC that moved its internals: the public, slower way
        result = repo.plots.show(revs=[label])
        entry = result.get(label, {})
        return dict(entry) if isinstance(entry, Mapping) else {}
    definitions = _collect_definitions(repo, targets=[], revision=label, onerror=onerror_collect, props={})
    if definitions and definitions.get("error") is not None:
        return {"definitions": definitions}  # reported as this revision's plot error
    if not definitions or not definitions.get("data"):
        return {}
    # finding the plot outputs makes DVC build and check the whole pipeline graph (about 0.1 s a
    # revision); reading files needs no graph, and DVC's own switch skips that check
    skip = getattr(repo, "_skip_graph_checks", False)
    repo._skip_graph_checks = True
    try:
        sources = repo.plots._collect_data_sources(
            repo, targets=_get_data_targets(definitions), recursive=False, props={}, onerror=onerror_collect
        )
    finally:
        repo._skip_graph_checks = skip
    shown = {"definitions": definitions, "sources": sources}
    loaders = [v for v in (sources.get("data") or {}).values() if isinstance(v, dict) and "data_source" in v]
    if len(loaders) > SERIAL_PLOT_FILES:
        _resolve_data_sources(shown, label, cache=True)  # many files, maybe from a remote: DVC's pool
        return shown
    # DVC's pool of 8 threads costs more than it saves for a few files (thread starts contend for the
    # GIL with the JSON parsing: about 0.1 s for 8 files); its loaders are called the same way, in turn
    for value in loaders:
        value.update(value.pop("data_source")(cache=True))
    return shown


def _raise_rev_error(entry: Mapping[str, Any], what: str, label: str) -> None:
    error = entry.get("error")
    if error is not None:
        raise MlciError(
            f"DVC cannot load the {what} at revision {label}: {one_line(error)}",
            "check dvc.yaml at that revision (`dvc {what} show` there shows the same error)",
        )


def _is_missing(error: BaseException) -> bool:
    if isinstance(error, FileNotFoundError):
        return True
    from dvc.exceptions import PathMissingError

    return isinstance(error, PathMissingError)


def _is_unloaded_folder(error: BaseException) -> bool:
    from dvc_data.index.index import DataIndexDirError

    return isinstance(error, DataIndexDirError)


def _scalar(value: object) -> bool:
    return isinstance(value, (int, float, str, bool))
