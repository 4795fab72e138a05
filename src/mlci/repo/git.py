"""Git, through its command line: the one tool every runner has and every user knows."""

from __future__ import annotations

import difflib
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlci.errors import MlciError


class GitError(MlciError):
    pass


def git_run(
    root: Path | str, *args: str, env: Mapping[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run git in `root` whatever its exit code (the caller reads it): stdout and stderr as UTF-8 text,
    undecodable bytes replaced. Raises GitError only when git itself cannot be started."""
    try:
        return subprocess.run(
            ["git", *args],
            cwd=root,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            input=input,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None


def git(root: Path | str, *args: str, check: bool = True, input: str | None = None) -> str:
    """Run git in `root` and return its stdout (stripped); a failure is a GitError with git's words."""
    # diff.relative: in a DVC project below the git root, diffs list the project's own files,
    # with paths relative to it (as ls-files and ls-tree already do); `REV:./path` likewise
    proc = git_run(root, "-c", "diff.relative=true", *args, input=input)
    if check and proc.returncode != 0:
        raise failed(args, proc)
    return proc.stdout.strip()


def clear_tracking_locks(root: Path | str, remote: str, branches: Sequence[str]) -> list[str]:
    """Remove the lock files of `remote`'s tracking refs of `branches` (`refs/remotes/REMOTE/NAME.lock`)
    and return the refs whose lock was removed.

    A run killed while `git push` or `git fetch` updated a tracking ref leaves its lock behind, and the
    rerun's fetch then refuses ("remove the file manually to continue"). A tracking ref is only git's copy
    of the remote's state, which the fetch that follows writes again, so its lock is safe to drop here:
    mlci is the one git user of the job's checkout."""
    common = git(root, "rev-parse", "--git-common-dir")
    base = Path(root) / common if not Path(common).is_absolute() else Path(common)
    removed = []
    for name in branches:
        lock = base / "refs" / "remotes" / remote / f"{name}.lock"
        if lock.is_file():
            lock.unlink()
            removed.append(f"refs/remotes/{remote}/{name}")
    return removed


def failed(args: Sequence[str], proc: subprocess.CompletedProcess[str]) -> GitError:
    """git's last line of complaint, as a GitError naming the command."""
    detail = (proc.stderr or proc.stdout).strip().splitlines()
    return GitError(f"git {' '.join(args[:3])} failed: {detail[-1] if detail else proc.returncode}")


def git_bytes(root: Path | str, *args: str) -> bytes:
    """Run git in `root` and return its raw stdout (a blob); a failure is a GitError."""
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:3])} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout


def git_paths(root: Path | str, *args: str) -> list[str]:
    """The paths a listing command (`diff --name-only`, `ls-files`, `ls-tree --name-only`) prints,
    NUL-separated (`-z`): exactly as they are on disk, never C-quoted by `core.quotePath`, whatever
    the characters (non-ASCII, spaces, quotes, newlines). Raises GitError when git fails."""
    command, rest = args[0], args[1:]
    try:
        proc = subprocess.run(
            ["git", "-c", "diff.relative=true", command, "-z", *rest],
            cwd=root,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:3])} failed: {detail[-1] if detail else proc.returncode}")
    return [os.fsdecode(p) for p in proc.stdout.split(b"\0") if p]


def repo_root(start: Path | str = ".") -> Path:
    out = git(start, "rev-parse", "--show-toplevel", check=False)
    if not out:
        raise GitError(
            f"{Path(start).resolve().name or start} is not inside a git repository",
            "run mlci from your project's checkout (or pass -C PATH); start one with `git init`",
        )
    return Path(out)


def project_root(start: Path | str = ".") -> Path:
    """The DVC project `start` is in: the nearest folder holding `.dvc/` up to the git root (DVC's own
    rule, so `dvc init --subdir` projects and monorepos work), else the git root."""
    top = repo_root(start)
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if (folder / ".dvc").is_dir():
            return folder
        if folder == top:
            break
    return top


def projects_below(root: Path, depth: int = 3) -> list[str]:
    """Folders up to `depth` levels below `root` holding `.dvc/` (hidden folders skipped), for hints."""
    found: list[str] = []
    level = [root]
    for _ in range(depth):
        level = [d for f in level for d in sorted(f.iterdir()) if d.is_dir() and not d.name.startswith(".")]
        level = level[:2000]  # a huge tree (vendored code) only costs a bounded scan
        found += [d.relative_to(root).as_posix() for d in level if (d / ".dvc").is_dir()]
    return found[:5]


def resolve(root: Path | str, rev: str) -> str | None:
    """The commit a revision names, or None when this clone does not have it."""
    out = git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    return out or None


def is_shallow(root: Path | str) -> bool:
    return git(root, "rev-parse", "--is-shallow-repository", check=False) == "true"


def current_branch(root: Path | str) -> str:
    return git(root, "rev-parse", "--abbrev-ref", "HEAD", check=False)


def default_branch(root: Path | str, remote: str = "origin") -> str:
    """origin's HEAD branch, else main/master, whichever exists."""
    out = git(root, "symbolic-ref", "--quiet", "--short", f"refs/remotes/{remote}/HEAD", check=False)
    if out:
        return out.split("/", 1)[1]
    for name in ("main", "master"):
        if resolve(root, name) or resolve(root, f"{remote}/{name}"):
            return name
    return "main"


def ensure_commit(root: Path | str, rev: str, remote: str = "origin", *, ci: bool = False) -> str:
    """Resolve `rev`, fetching it when the clone lacks it: only that commit (depth 1) in a shallow CI
    checkout; with its history in a full clone, which a depth-1 fetch would turn shallow.

    Raises GitError: the repository has no commits, or no such branch or commit; the message says
    whether `remote` was asked and answered it has none, could not be reached, or does not exist, and
    a shallow clone is named with its fix (`fetch-depth: 0`); `ci` adds that fix to any CI clone."""
    found = resolve(root, rev)
    if found:
        return found
    if not resolve(root, "HEAD"):
        raise GitError(
            "this git repository has no commits yet",
            "commit the project first (`git add -A && git commit -m 'first commit'`)",
        )
    shallow = is_shallow(root)
    found, failure = _fetch(root, remote, rev, depth=["--depth=1"] if shallow else [])
    if found:
        return found
    close = difflib.get_close_matches(rev, _ref_names(root), n=3, cutoff=0.6)
    hints = [f"did you mean {' or '.join(repr(c) for c in close)}?"] if close else []
    if shallow or ci:
        hints.append("a CI checkout needs history: `actions/checkout` with `fetch-depth: 0`")
    elif not close:
        hints.append("`git branch -a` and `git log --oneline` list what this clone has")
    where = "this shallow clone" if shallow else "this clone"
    raise GitError(f"no such branch or commit: '{rev}' (not in {where}, {failure})", "; ".join(hints))


_NOT_THERE = ("couldn't find remote ref", "not our ref", "no such remote ref", "unadvertised object")


def _fetch(root: Path | str, remote: str, rev: str, depth: list[str]) -> tuple[str | None, str]:
    """Fetch `rev` from `remote`: its commit, else None and what happened, in words for a message."""
    if remote not in git(root, "remote", check=False).split():
        return None, f"which has no remote '{remote}' to fetch it from"
    said, asked = "", False
    for ref in (rev, f"refs/heads/{rev}"):
        proc = subprocess.run(
            ["git", "fetch", "--no-tags", *depth, remote, ref],
            cwd=root,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
        )
        if proc.returncode == 0 and (found := resolve(root, "FETCH_HEAD")):
            return found, ""
        if "invalid refspec" in proc.stderr:
            continue  # `main~2`, `HEAD^`: a name only this clone could resolve; origin was not asked
        asked = True
        if not any(marker in proc.stderr.lower() for marker in _NOT_THERE):
            said = _first_error(proc.stderr) or f"git fetch exited {proc.returncode}"
    if said:
        return None, f"and fetching it from '{remote}' failed: {said}"
    if not asked:
        return None, f"and not a name '{remote}' can be asked for"
    return None, f"and '{remote}' does not have it"


def _first_error(stderr: str) -> str:
    """git's own first `fatal:`/`error:` line (the cause; later lines are advice), else its last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    causes = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    return (causes or lines or [""])[0 if causes else -1]


def merge_base(root: Path | str, base: str, head: str = "HEAD", remote: str = "origin") -> str | None:
    """The commit `base` and `head` share (what a pull request's diff starts from), or None when their
    histories never meet. A shallow clone is deepened from `remote` until they do.

    Raises GitError: the clone is shallow and `remote` could not deepen it enough."""
    found = git(root, "merge-base", base, head, check=False)
    if found or not is_shallow(root):
        return found or None
    said = ""
    for deepen in ("--deepen=50", "--deepen=500", "--unshallow"):
        proc = git_run(root, "fetch", "--no-tags", deepen, remote, base)
        found = git(root, "merge-base", base, head, check=False)
        if found:
            return found
        if proc.returncode != 0:
            said = _first_error(proc.stderr) or f"git fetch exited {proc.returncode}"
            break
        if not is_shallow(root):
            return None  # the whole history is here: they never meet
    raise GitError(
        f"this clone is shallow and does not reach where {base[:12]} and {head} meet "
        f"(deepening it from '{remote}' failed: {said or 'no common commit'})",
        "check out with `actions/checkout` `fetch-depth: 0`, or fetch the history: `git fetch --unshallow`",
    )


def _ref_names(root: Path | str) -> list[str]:
    """Short names of local and remote-tracking branches and tags."""
    out = git(
        root,
        "for-each-ref",
        "--format=%(refname:short)",
        "refs/heads",
        "refs/remotes",
        "refs/tags",
        check=False,
    )
    return [name for name in out.splitlines() if name and not name.endswith("/HEAD")]


def changed_files(root: Path | str, base: str, head: str = "HEAD") -> list[str]:
    return git_paths(root, "diff", "--name-only", f"{base}...{head}" if head else base)
