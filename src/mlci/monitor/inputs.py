"""What one monitoring run works with: its options, its inputs resolved and checked once
(`resolve_inputs`), the production version, and what one pass over the current data gave."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlci.config import Config, ModelConfig
from mlci.errors import MlciError


@dataclass(frozen=True)
class Options:
    """`mlci monitor [NAME] [--current S] [--reference S | --reference-profile FILE] [--save-profile FILE]
    [--format markdown|json] [--output FILE] [--open-pr]`; "" means not given."""

    name: str = ""
    current: str = ""
    reference: str = ""
    reference_profile: str = ""
    save_profile: str = ""
    fmt: str = "markdown"
    output: str = ""
    open_pr: bool = False
    where: tuple[str, ...] = ()  # --where: conditions on the current data's partition folders (ANDed)
    # partitioned runs (mlci.monitor.partition): `mlci profile`'s share K/N and its explicit files;
    # `mlci monitor --profiles`: the partition profiles decided on instead of reading --current
    partition: str = ""
    files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    reference_only: bool = False  # --reference-only: write --save-profile and read no current data


@dataclass(frozen=True)
class Inputs:
    """One run's inputs, resolved and checked once, before any data or model is read.

    `options.current` is --current, else mlci.yaml's monitor.current; `head` is HEAD's commit (None
    outside a repository or before the first commit); a --reference is either `reference_files` (local
    CSV/Parquet files) or `reference_rev` (the commit of a git revision), never both.
    """

    options: Options
    name: str
    model: ModelConfig | None
    in_repo: bool
    head: str | None
    reference_files: tuple[Path, ...] = ()
    reference_rev: str | None = None


@dataclass(frozen=True)
class Production:
    commit: str
    version: str | None
    source: str  # "registry" or "HEAD"
    note: str = ""


@dataclass
class Observed:
    """What one pass over the current data gave."""

    data: Any  # drift.DriftResult
    prediction: Any | None  # drift.DriftResult | None
    decay: Any | None  # decay.Decay | None
    paths: list[str]
    spec: str
    rows: int
    notes: list[str]
    model_note: str = ""  # why the model's checks did not run, when it was loaded but failed
    target: str = ""  # the label column mlci.yaml names ("" when none)


def resolve_inputs(root: Path, config: Config, opts: Options, *, in_repo: bool) -> Inputs:
    """Every input checked before any is read (the model, the data): all problems in one MlciError
    (exit 2), each with its fix."""
    from mlci.repo.git import resolve

    opts = _with_current(root, config, opts)
    problems: list[MlciError] = []
    name, model, chosen = opts.name, None, True
    try:
        name, model = _choose_model(config, opts.name)
    except MlciError as exc:
        problems.append(exc)
        chosen = False
    if opts.files:
        problems += [p for f in opts.files for p in _data_problems(root, f, "--files", in_repo)]
    elif not (opts.profiles or opts.reference_only):
        problems += _current_problems(root, opts.current, in_repo, opts.where)
    head = resolve(root, "HEAD") if in_repo else None
    inputs = Inputs(opts, name, model, in_repo, head)
    if opts.reference_profile:
        if not Path(opts.reference_profile).is_file():
            problems.append(
                MlciError(
                    f"reference profile {opts.reference_profile} not found",
                    "write one with --save-profile FILE",
                )
            )
    elif opts.reference:
        inputs = _given_reference(root, inputs, problems)
        if chosen and inputs.reference_rev:  # the model's training data, read at that revision
            problems += _training_data_problems(inputs)
    elif chosen:  # the model's training data at the production commit
        problems += _training_data_problems(inputs)
    problems += _open_pr_problems(inputs)
    _raise(problems)
    return inputs


def _with_current(root: Path, config: Config, opts: Options) -> Options:
    """--current, else mlci.yaml's monitor.current (relative to the project's folder, unless a URL), given
    relative to where mlci runs as --current would be: the report shows `data/fresh`, not the runner's
    folders. monitor.where applies to monitor.current: when --current or --where is given, only --where."""
    from mlci.repo.tables import is_url

    configured = config.monitor.current
    if not opts.current and not opts.where:  # monitor.where goes with monitor.current
        opts = replace(opts, where=config.monitor.where)
    if opts.current or not configured or Path(configured).is_absolute() or is_url(configured):
        return replace(opts, current=opts.current or configured)
    return replace(opts, current=os.path.relpath(root / configured, Path.cwd()))


def _choose_model(config: Config, name: str) -> tuple[str, ModelConfig | None]:
    if not name and not config.models:
        return "", None  # compare data alone: no model, no prediction drift or decay
    return config.model(name, verb="monitor")


def _current_problems(root: Path, spec: str, in_repo: bool, where: tuple[str, ...] = ()) -> list[MlciError]:
    from mlci.repo.partitions import parse

    try:
        parse(where)  # the grammar; the columns are checked against the listing when it is read
    except MlciError as exc:
        return [exc]
    if spec:
        return _data_problems(root, spec, "--current", in_repo)
    return [
        MlciError(
            "no current data to monitor: --current is not given and monitor.current is not set in mlci.yaml",
            "pass --current PATH, or set monitor.current in mlci.yaml (what the action's `command: auto` "
            "monitors on a schedule)",
        )
    ]


def _given_reference(root: Path, inputs: Inputs, problems: list[MlciError]) -> Inputs:
    """--reference: local files, else a git revision; neither is a problem."""
    from mlci.repo.git import resolve
    from mlci.repo.tables import is_url, local_files

    given = inputs.options.reference
    if is_url(given):  # listed, with its errors, when it is read
        from mlci.repo.objectstore import check

        try:
            check(given)
        except MlciError as exc:
            problems.append(exc)
        return inputs
    try:
        local = local_files(given, Path.cwd()) or local_files(given, root)
    except MlciError:
        local = None
    if local:
        return replace(inputs, reference_files=tuple(local))
    rev = resolve(root, given) if inputs.in_repo and inputs.head is not None else None
    if rev is None:
        problems.append(
            MlciError(
                f"--reference {given!r} is neither a data file, glob or folder nor a git revision",
                "pass a CSV/Parquet path, or a commit/tag/branch at which to read the training data",
            )
        )
    return replace(inputs, reference_rev=rev)


def _training_data_problems(inputs: Inputs) -> list[MlciError]:
    if inputs.model is None or not inputs.model.data:
        return [
            MlciError(
                f"no reference data: models.{inputs.name or 'NAME'}.data is not set in mlci.yaml",
                "set the model's training data in mlci.yaml, or pass --reference PATH",
            )
        ]
    if not inputs.in_repo:
        return [_no_repo("the training data is read at the production commit")]
    if inputs.head is None:
        return [_no_commit("the training data is read at the production commit")]
    return []


def _open_pr_problems(inputs: Inputs) -> list[MlciError]:
    if inputs.options.open_pr and not inputs.in_repo:
        return [_no_repo("--open-pr opens a pull request from this repository")]
    if inputs.options.open_pr and inputs.head is None:
        return [_no_commit("--open-pr opens a pull request from a commit")]
    return []


def _raise(problems: list[MlciError]) -> None:
    if len(problems) == 1:
        raise problems[0]
    if problems:
        hints = list(dict.fromkeys(p.hint for p in problems if p.hint))
        raise MlciError(
            f"{len(problems)} problems with the inputs:\n" + "\n".join(f"  - {p.message}" for p in problems),
            "; ".join(hints) or None,
        )


def _no_repo(why: str) -> MlciError:
    return MlciError(
        f"{Path.cwd().name or '.'} is not inside a git repository: {why}",
        "pass --reference FILE to compare two files anywhere, or run in your project's checkout (-C PATH)",
    )


def _no_commit(why: str) -> MlciError:
    return MlciError(
        f"this git repository has no commits yet: {why}",
        "commit the project first (`git add` and `git commit`), or pass --reference FILE",
    )


def _data_problems(root: Path, spec: str, option: str, in_repo: bool) -> list[MlciError]:
    """Why `spec` names no data here: [] when it names local files, an object-storage URL (listed,
    with its errors, when it is read) or may be a DVC-tracked path."""
    from mlci.repo.tables import is_url, local_files

    if is_url(spec):
        from mlci.repo.objectstore import check

        try:
            check(spec)
        except MlciError as exc:
            return [exc]
        return []
    try:
        if local_files(spec, Path.cwd()) is not None:
            return []
        if not Path(spec).is_absolute() and local_files(spec, root) is not None:
            return []
    except MlciError as exc:
        return [exc]
    if in_repo and _maybe_dvc_tracked(root, spec):
        return []  # DVC decides (and says so) when the data is read
    where = "not a local file, glob or folder" + (", nor a DVC-tracked path" if in_repo else "")
    return [
        MlciError(
            f"no data at {spec} ({option}): {where}",
            "give a CSV/Parquet file, a glob (quoted) or a folder; a DVC path must be tracked",
        )
    ]


def _maybe_dvc_tracked(root: Path, spec: str) -> bool:
    """Whether DVC could know `spec`: a `.dvc` file for it or a folder above it, or a dvc.yaml /
    dvc.lock that names it or a folder above it. Cheap; a yes is checked by DVC when reading."""
    if not (root / ".dvc").is_dir() or any(ch in spec for ch in "*?["):
        return False
    path = Path(spec) if Path(spec).is_absolute() else Path.cwd() / spec
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    chain = [relative, *list(relative.parents)[:-1]]
    if any((root / f"{p.as_posix()}.dvc").is_file() for p in chain):
        return True
    texts = []
    for folder in [Path("."), *reversed(chain[1:])]:
        for name in ("dvc.yaml", "dvc.lock"):
            file = root / folder / name
            if file.is_file():
                texts.append(file.read_text(encoding="utf-8", errors="replace"))
    return any(p.as_posix() in text for p in chain for text in texts)
