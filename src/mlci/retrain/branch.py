"""The rolling retrain branch: where it stands on origin, a scratch checkout to build it, the push.

The new commit is built in a temporary `git worktree` on the default branch's tip, so the user's
checkout (and any uncommitted work in it) is never touched. Only our branch is ever pushed, with a
lease on the sha we saw: a branch someone moved since is not overwritten.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.errors import MlciError
from mlci.repo.git import GitError, clear_tracking_locks, git, resolve
from mlci.repo.trailers import DATA, RESULTS, RETRAIN, trailer
from mlci.retrain.update import DataUpdate
from mlci.safety import one_line

REMOTE = "origin"
BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"


@dataclass(frozen=True)
class Tips:
    base: str  # the default branch's tip
    branch: str | None  # our branch's tip (on origin when there is one), None when it does not exist
    remote: bool  # whether there is an `origin` to fetch from and push to


@dataclass(frozen=True)
class BranchCommit:
    sha: str
    parent: str
    model: str  # the Mlci-Retrain trailer ("" unless mlci retrain made this commit)
    data_hash: str  # the Mlci-Data trailer
    results: bool = False  # an `mlci train --commit` results commit (Mlci-Results trailer)
    author: str = ""  # "Name <email>"

    def ours(self, model: str) -> bool:
        return self.model == model or (self.results and not self.model)


def check_branch_name(root: Path, branch: str) -> str:
    out = git(root, "check-ref-format", "--branch", branch, check=False)
    if not out:
        raise MlciError(
            f"'{one_line(branch)}' is not a valid git branch name",
            "check `retrain.branch_prefix` in mlci.yaml and the model name",
        )
    return branch


def has_remote(root: Path) -> bool:
    return REMOTE in git(root, "remote").split()


def fetch_tips(root: Path, default: str, branch: str) -> Tips:
    """Fetch the default branch and ours from origin (a local-only repo: read the local branches)."""
    if not has_remote(root):
        base = resolve(root, f"refs/heads/{default}")
        if base is None:
            raise MlciError(f"branch '{one_line(default)}' does not exist in this repository")
        return Tips(base, resolve(root, f"refs/heads/{branch}"), remote=False)
    # one look at origin, then one fetch of what exists (a network round trip each on a runner)
    listed = git(root, "ls-remote", "--heads", REMOTE, f"refs/heads/{default}", f"refs/heads/{branch}")
    heads = {ref: sha for sha, ref in (line.split("\t", 1) for line in listed.splitlines() if "\t" in line)}
    if f"refs/heads/{default}" not in heads:
        raise MlciError(
            f"origin has no branch '{one_line(default)}' to base the retraining on",
            "push the default branch first, or check the `origin` remote",
        )
    specs = [
        f"+refs/heads/{name}:refs/remotes/{REMOTE}/{name}"
        for name in (default, branch)
        if f"refs/heads/{name}" in heads
    ]
    for ref in clear_tracking_locks(root, REMOTE, [default, branch]):
        print(f"removed the stale lock of {one_line(ref)} (an interrupted run left it)", file=sys.stderr)
    git(root, "fetch", "--quiet", "--no-tags", REMOTE, *specs)
    return Tips(heads[f"refs/heads/{default}"], heads.get(f"refs/heads/{branch}"), remote=True)


def read_commit(root: Path, sha: str) -> BranchCommit:
    return _parse(git(root, "log", "-1", f"--format={_FORMAT}", sha))


_FORMAT = "%H%x00%P%x00%an <%ae>%x00%B"


def _parse(record: str) -> BranchCommit:
    sha, parents, author, message = record.split("\0", 3)
    return BranchCommit(
        sha,
        parents.split()[0] if parents else "",
        trailer(message, RETRAIN),
        trailer(message, DATA),
        bool(trailer(message, RESULTS)),
        author,
    )


def branch_commits(root: Path, base: str, tip: str) -> list[BranchCommit]:
    """The commits on the branch that the default branch does not have, newest first."""
    out = git(root, "log", f"--format={_FORMAT}%x1e", f"{base}..{tip}")
    return [_parse(record.strip("\n")) for record in out.split("\x1e") if record.strip()]


def show_file(root: Path, sha: str, path: str) -> str | None:
    """A file's text at a commit; None when it is not there."""
    try:
        return git(root, "show", f"{sha}:./{path}")
    except GitError:
        return None


@contextmanager
def scratch_checkout(root: Path, base: str) -> Iterator[Path]:
    """A temporary worktree at `base`, sharing the repo's DVC cache and local DVC config."""
    folder = Path(tempfile.mkdtemp(prefix="mlci-retrain-"))
    work = folder / "work"
    # no hooks: a `dvc install`ed post-checkout hook would run `dvc checkout` of everything here
    git(root, "-c", f"core.hooksPath={os.devnull}", "worktree", "add", "--quiet", "--detach", str(work), base)
    try:
        _share_dvc(root, work)
        yield work
    finally:
        git(root, "worktree", "remove", "--force", str(work), check=False)
        shutil.rmtree(folder, ignore_errors=True)
        git(root, "worktree", "prune", check=False)


def _share_dvc(root: Path, work: Path) -> None:
    """Remote credentials live in the untracked config.local; the cache is shared, not copied."""
    if not (work / ".dvc").is_dir():
        return
    local = root / ".dvc" / "config.local"
    text = local.read_text(encoding="utf-8") if local.is_file() else ""
    shared = (
        (work / ".dvc" / "config").read_text(encoding="utf-8") if (work / ".dvc" / "config").is_file() else ""
    )
    if "[cache]" not in text + shared:  # a cache the project configured itself is left as it is
        cache = (root / ".dvc" / "cache").resolve()
        text += f"\n[cache]\n    dir = {cache.as_posix()}\n"
    (work / ".dvc" / "config.local").write_text(text, encoding="utf-8")


def commit_all(work: Path, message: str) -> str | None:
    """Commit every change in the scratch checkout; None when there is nothing to commit."""
    git(work, "add", "-A")
    if not git(work, "status", "--porcelain"):
        return None
    git(work, *_identity(work), "commit", "--quiet", "--no-verify", "-F", "-", input=message)
    return git(work, "rev-parse", "HEAD")


def _identity(work: Path) -> list[str]:
    """A runner has no git identity: commit as the Actions bot unless the repo or user set one."""
    if git(work, "config", "user.email", check=False):
        return []
    return ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]


def push_branch(root: Path, sha: str, branch: str, expected: str | None) -> None:
    """Force-push our branch, but only if origin still has `expected` there (None: must not exist)."""
    lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
    try:
        git(root, "push", "--quiet", "--no-verify", lease, REMOTE, f"{sha}:refs/heads/{branch}")
    except GitError as exc:
        raise MlciError(
            f"could not push {one_line(branch)}: {exc.message}",
            "someone changed the branch since mlci looked, or the token cannot push: run again, "
            "and give the job `contents: write`",
        ) from None


def set_local_branch(root: Path, branch: str, sha: str) -> bool:
    """Point the local branch at `sha` too, unless a checkout has it open (then leave it alone)."""
    listed = git(root, "worktree", "list", "--porcelain")
    if f"branch refs/heads/{branch}" in listed.splitlines():
        return False
    git(root, "update-ref", f"refs/heads/{branch}", sha)
    return True


def commit_message(
    model: str,
    dataset: str,
    update: DataUpdate,
    data_hash: str,
    drifted: list[dict[str, Any]],
    decayed: list[dict[str, Any]],
) -> str:
    rows = f"{update.rows_added} new rows in " if update.rows_added else "new data in "
    lines = [one_line(f"mlci: retrain {model} on {rows}{dataset}", 72), ""]
    if drifted:
        lines.append(one_line("Drifted columns: " + ", ".join(c["name"] for c in drifted), 500))
    if decayed:
        lines.append(one_line("Decayed metrics: " + ", ".join(d["metric"] for d in decayed), 500))
    if update.rows_before is not None:
        lines.append(f"Rows: {update.rows_before} -> {update.rows_after} ({update.mode})")
    lines += [
        "",
        f"{RETRAIN}: {one_line(model).replace(' ', '_')}",
        f"{DATA}: {data_hash}",
    ]
    return "\n".join(lines) + "\n"
