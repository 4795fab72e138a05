"""Git, through its command line: the one tool every runner has and every user knows."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlci.errors import MlciError


class GitError(MlciError):
    pass


def git(root: Path | str, *args: str, check: bool = True, input: str | None = None) -> str:
    """Run git in `root` and return its stdout (stripped); a failure is a GitError with git's words."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            input=input,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise GitError(f"git {' '.join(args[:3])} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout.strip()


def git_bytes(root: Path | str, *args: str) -> bytes:
    """Run git in `root` and return its raw stdout (a blob); a failure is a GitError."""
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:3])} failed: {detail[-1] if detail else proc.returncode}")
    return proc.stdout


def repo_root(start: Path | str = ".") -> Path:
    out = git(start, "rev-parse", "--show-toplevel", check=False)
    if not out:
        raise GitError(
            f"{Path(start).resolve().name or start} is not inside a git repository",
            "run mlci from your project's checkout (or pass -C PATH); start one with `git init`",
        )
    return Path(out)


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


def ensure_commit(root: Path | str, rev: str, remote: str = "origin") -> str:
    """Resolve `rev`, fetching it when the clone lacks it: only that commit (depth 1) in a shallow CI
    checkout; with its history in a full clone, which a depth-1 fetch would turn shallow."""
    found = resolve(root, rev)
    if found:
        return found
    depth = ["--depth=1"] if is_shallow(root) else []
    for ref in (rev, f"refs/heads/{rev}"):
        proc = subprocess.run(
            ["git", "fetch", "--no-tags", *depth, remote, ref],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode == 0:
            found = resolve(root, "FETCH_HEAD")
            if found:
                return found
    raise GitError(
        f"revision '{rev}' is not in this clone and could not be fetched from '{remote}'",
        "check out with full history: `actions/checkout` with `fetch-depth: 0`",
    )


def changed_files(root: Path | str, base: str, head: str = "HEAD") -> list[str]:
    out = git(root, "diff", "--name-only", f"{base}...{head}" if head else base)
    return [line for line in out.splitlines() if line]
