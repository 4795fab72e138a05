"""Commit a run's results (dvc.lock, metrics, plots in git) back to the branch it trained.

Several matrix jobs (one per model) may push to the same PR branch at once. When our push is
rejected because a sibling job pushed first (the new commits all carry our results message), we merge:
their dvc.lock with our stages' entries, our files for the rest, and push again. When the branch
moved by anything else (a new commit of code or params), our results are stale: the run for that
newer commit commits its own, so we stop with a warning instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlci.errors import MlciError
from mlci.fsutil import write_bytes_atomic, write_text_atomic
from mlci.readers import load_yaml
from mlci.repo.git import clear_tracking_locks, git, git_paths, git_run
from mlci.repo.trailers import RESULTS, with_trailer
from mlci.safety import one_line

BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
ATTEMPTS = 3


@dataclass
class CommitResult:
    sha: str = ""  # empty when nothing was committed
    files: tuple[str, ...] = ()
    note: str = ""


def repair_locks(root: Path, locks: Sequence[str]) -> list[str]:
    """A `dvc.lock` that differs from HEAD and that DVC's schema refuses is what a run killed while DVC
    wrote it left (DVC does not write it atomically): put HEAD's back (or remove one HEAD lacks), so the
    rerun reproduces from a lock DVC can read. Returns the paths repaired."""
    from mlci.errors import MlciError
    from mlci.repo import dvcfiles

    repaired = []
    for path in changed_paths(root, locks):
        file = root / path
        if Path(path).name == ".gitignore" or not file.is_file():
            continue  # changed_paths adds the .gitignore files: they are the user's, never a lock
        try:
            dvcfiles.load(file.read_bytes(), path)
            continue
        except MlciError:
            pass
        committed = subprocess.run(
            ["git", "show", f"HEAD:./{path}"], cwd=root, capture_output=True, check=False
        )
        if committed.returncode == 0:
            write_bytes_atomic(file, committed.stdout)
        else:
            file.unlink()
        repaired.append(path)
    return repaired


def changed_paths(root: Path, candidates: Sequence[str]) -> list[str]:
    """The candidates (and any .gitignore DVC touched) that differ from HEAD or are new."""
    specs = ["--", *candidates, "*.gitignore"]
    modified = git_paths(root, "diff", "--name-only", "--no-renames", "HEAD", *specs)
    new = git_paths(root, "ls-files", "--others", "--exclude-standard", *specs)
    return sorted({*modified, *new})


Snapshot = dict[str, bytes | None]  # path → its content in the work tree (None: absent)


def snapshot(root: Path, candidates: Sequence[str]) -> Snapshot:
    """The result files that already differ from HEAD before the run: the user's own edits."""
    return {path: _read(root / path) for path in changed_paths(root, candidates)}


@dataclass
class Results:
    """What the run itself changed: the files to commit, and for a .gitignore the user had edited
    before the run, the content to commit instead of the work tree's (HEAD plus DVC's new entries)."""

    files: list[str] = field(default_factory=list)
    contents: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False  # an earlier run's dvc.lock was found uncommitted: it is among the files


def run_results(
    root: Path, candidates: Sequence[str], before: Snapshot, locks: Sequence[str] = ()
) -> Results:
    """The candidates the run changed. A file the user had edited before the run and the run left
    alone is the user's, not a result: it is never counted as changed nor committed.

    But a `dvc.lock` (DVC's own file, never a person's) that already differed from HEAD is what an
    interrupted run left (killed after DVC wrote it, before the commit): after a successful
    `dvc repro` it and the uncached outputs it records match the work tree, so they are results and
    are committed, and a rerun repairs the branch."""
    results = Results()
    leftover = any(path in before and before[path] is not None for path in locks)
    results.interrupted = leftover
    for path in changed_paths(root, candidates):
        now = _read(root / path)
        interrupted = leftover and Path(path).name != ".gitignore"
        if path in before and before[path] == now and not interrupted:
            continue  # the user's edit, untouched by the run
        results.files.append(path)
        if path in before and Path(path).name == ".gitignore" and now is not None:
            results.contents[path] = _ignore_entries_added(root, path, before[path], now)
    return results


def put_back(root: Path, candidates: Sequence[str], before: Snapshot) -> list[str]:
    """After a failed run: every candidate the run changed as it was before the run (the user's edit,
    the HEAD version, or absent when the run created it), so a failure leaves no half-made results in
    git's files. Returns the paths put back."""
    back = []
    for path in changed_paths(root, candidates):
        now = _read(root / path)
        if path in before:
            if before[path] == now:
                continue  # the user's edit, untouched
            content = before[path]
            if content is None:
                (root / path).unlink(missing_ok=True)
            else:
                write_bytes_atomic(root / path, content)
        elif git(root, "ls-files", "--", path).strip():
            git(root, "checkout", "HEAD", "--", path)
        else:
            (root / path).unlink(missing_ok=True)  # made by the failed run
        back.append(path)
    return back


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _ignore_entries_added(root: Path, path: str, before: bytes | None, now: bytes) -> str:
    """HEAD's .gitignore with the lines the run added (DVC ignoring its new outputs), without the
    user's own pending edits to it."""
    head = git(root, "show", f"HEAD:./{path}", check=False)
    old = set((before or b"").decode("utf-8", "replace").splitlines())
    lines = head.splitlines()
    for line in now.decode("utf-8", "replace").splitlines():
        if line not in old and line not in lines:
            lines.append(line)
    return "\n".join(lines) + "\n" if lines else ""


def commit_and_push(
    root: Path,
    files: Sequence[str],
    *,
    message: str,
    branch: str,
    stages: Sequence[str],
    remote: str = "origin",
    warn: Callable[[str], None] = print,
    contents: Mapping[str, str] | None = None,
) -> CommitResult:
    """Commit exactly `files` (`contents` overrides a file's work-tree content) and push them; the
    user's other edits, staged or not, stay where they are."""
    contents = dict(contents or {})
    if not files:
        return _push_unpushed(root, remote, branch)
    trained = git(root, "rev-parse", "HEAD")
    # the trailer lets `mlci retrain` tell this commit from a person's on its rolling branch
    message = with_trailer(message, RESULTS, ",".join(stages) or "all")
    _commit(root, files, message, contents)
    for _ in range(ATTEMPTS):
        if _push(root, remote, branch, trained):
            return CommitResult(sha=git(root, "rev-parse", "HEAD"), files=tuple(files))
        git(root, "fetch", "--quiet", "--no-tags", remote, f"refs/heads/{branch}")
        theirs = git(root, "rev-parse", "FETCH_HEAD")
        subjects = set(git(root, "log", "--format=%s", f"{trained}..{theirs}").splitlines())
        if subjects - {message.splitlines()[0]}:  # not only other jobs' result commits
            warn(
                f"not committing results: branch '{branch}' has new commits since this run started; "
                "the run for the newest commit commits its own results"
            )
            git(root, "reset", "--quiet", "--soft", trained)
            return CommitResult(note="branch moved on")
        _rebase_results(root, files, theirs, stages, message, contents)
    raise MlciError(
        f"could not push results to '{branch}' after {ATTEMPTS} attempts (the branch kept moving)",
        "re-run the job; if it keeps failing, let one job commit results "
        "(train with --no-commit in the others)",
    )


def _push_unpushed(root: Path, remote: str, branch: str) -> CommitResult:
    """Nothing new to commit, but an interrupted run may have committed its results and been killed
    before the push: when every commit HEAD is ahead of the remote branch by is a results commit
    (its trailer), push them now."""
    from mlci.repo.trailers import trailer

    clear_tracking_locks(root, remote, [branch])  # a killed push's lock would stop this rerun's fetch
    fetched = git_run(root, "fetch", "--quiet", "--no-tags", remote, f"refs/heads/{branch}")
    if fetched.returncode != 0:
        return CommitResult(note="nothing to commit")
    ahead = git(root, "rev-list", "FETCH_HEAD..HEAD").split()
    behind = git(root, "rev-list", "HEAD..FETCH_HEAD").split()
    messages = [git(root, "log", "-1", "--format=%B", sha) for sha in ahead]
    if not ahead or behind or not all(trailer(m, RESULTS) for m in messages):
        return CommitResult(note="nothing to commit")
    _index_follows(root, f"{ahead[-1]}^")
    head = git(root, "rev-parse", "HEAD")
    if not _push(root, remote, branch, head):
        return CommitResult(note="branch moved on")
    return CommitResult(sha=head, note="")


def _index_follows(root: Path, base: str) -> None:
    """A run killed between moving HEAD to its results commit and updating the index leaves the
    results' index entries at `base` (the commit trained): point them at HEAD. A path whose index
    entry differs from `base` is the user's staged edit and stays."""
    committed = set(git_paths(root, "diff", "--name-only", "--no-renames", base, "HEAD"))
    staged = set(git_paths(root, "diff", "--cached", "--name-only", "--no-renames", base))
    stale = sorted(committed - staged)
    if stale:
        _drop_stale_index_lock(root)
        git(root, "reset", "--quiet", "HEAD", "--", *stale)


def _drop_stale_index_lock(root: Path) -> None:
    """The killed run's `git reset` may have left `index.lock`; git holds a live one for milliseconds,
    so one older than two seconds is the dead run's and would stop this repair."""
    import time

    lock = Path(git(root, "rev-parse", "--git-path", "index.lock"))
    lock = lock if lock.is_absolute() else root / lock
    if lock.is_file() and time.time() - lock.stat().st_mtime > 2:
        lock.unlink()
        print(f"removed {lock.name}, left by an interrupted run", file=sys.stderr)


def _push(root: Path, remote: str, branch: str, trained: str) -> bool:
    """Push HEAD to `branch`: True when pushed, False when refused because the branch moved on; any
    other refusal takes the commit back (HEAD to `trained`, the files staged) and raises MlciError."""
    proc = git_run(root, "push", "--quiet", remote, f"HEAD:refs/heads/{branch}")
    if proc.returncode == 0:
        return True
    if not re.search(r"rejected|fetch first|non-fast-forward", proc.stderr):
        git(root, "reset", "--quiet", "--soft", trained)
        raise MlciError(
            f"could not push results to '{one_line(branch, 100)}': {one_line(proc.stderr.strip(), 300)}",
            "the job needs `permissions: contents: write` and a checkout with persist-credentials: true "
            "(fork PRs cannot be pushed to: run train with --no-commit there)",
        )
    return False


def _commit(root: Path, files: Sequence[str], message: str, contents: Mapping[str, str]) -> None:
    """A commit of HEAD plus `files`, built in a separate index: whatever else the user staged or
    edited is neither committed nor lost."""
    identity: list[str] = []
    if not git(root, "config", "user.email", check=False):
        identity = ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]
    head = git(root, "rev-parse", "HEAD")
    with tempfile.TemporaryDirectory(prefix="mlci-index-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git_env(root, env, "read-tree", head)
        for path in files:
            if path in contents:
                blob = _git_env(root, env, "hash-object", "-w", "--stdin", input=contents[path])
                _git_env(root, env, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
            elif (root / path).is_file():
                _git_env(root, env, "update-index", "--add", "--", path)
            else:
                _git_env(root, env, "update-index", "--force-remove", "--", path)
        tree = _git_env(root, env, "write-tree")
        commit = _git_env(root, env, *identity, "commit-tree", tree, "-p", head, "-F", "-", input=message)
    git(root, "update-ref", "-m", "mlci: results", "HEAD", commit, head)
    git(root, "reset", "--quiet", "HEAD", "--", *files)  # the index follows the new commit for these paths


def _git_env(root: Path, env: Mapping[str, str], *args: str, input: str | None = None) -> str:
    proc = git_run(root, *args, env=env, input=input)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise MlciError(f"git {' '.join(args[:2])} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout.strip()


def _rebase_results(
    root: Path,
    files: Sequence[str],
    theirs: str,
    stages: Sequence[str],
    message: str,
    contents: Mapping[str, str],
) -> None:
    """Re-make our results commit on top of `theirs`, merging dvc.lock stage by stage."""
    ours = {
        f: contents[f] if f in contents else (root / f).read_text(encoding="utf-8")
        for f in files
        if f in contents or (root / f).is_file()
    }
    git(root, "reset", "--quiet", "--hard", theirs)
    for name, text in ours.items():
        if Path(name).name == "dvc.lock":
            their_text = git(root, "show", f"{theirs}:./{name}", check=False)
            text = merge_lock(their_text, text, stages)
        write_text_atomic(root / name, text)
    _commit(root, list(ours), message, {})


def merge_lock(theirs: str, ours: str, stages: Sequence[str]) -> str:
    """Their dvc.lock with our entries for the stages this run produced."""
    import yaml

    base = load_yaml(theirs, "dvc.lock (the branch's)") if theirs else None
    mine = load_yaml(ours, "dvc.lock") or {}
    if not isinstance(base, dict):
        return ours
    entries = base.setdefault("stages", {})
    for name in stages:
        key = name.rsplit(":", 1)[-1]  # entries in a dvc.lock are keyed by the name in its dvc.yaml
        if key in (mine.get("stages") or {}):
            entries[key] = mine["stages"][key]
    return str(yaml.safe_dump(base, sort_keys=False, default_flow_style=False))
