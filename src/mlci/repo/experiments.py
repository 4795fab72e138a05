"""Which DVC experiments belong to a pull request, and fetching exactly those from the git remote.

DVC keeps an experiment as a git commit under `refs/exps/<baseline[:2]>/<baseline[2:]>/<name>`, where
the baseline is the commit it was run on (`dvc exp push` sends these refs to the git remote). A PR's
experiments are those whose baseline is one of its commits (`base..head`). Fetching them takes one
refspec per baseline, so a repository with thousands of experiments on other branches costs nothing.
DVC's own bookkeeping refs (`refs/exps/exec/*`, `apply/*`, `stash`, `celery/*`) are never experiments.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlci.repo.git import git, merge_base

EXPS = "refs/exps"
# an experiment: refs/exps/<2 hex>/<38 hex>/<one name>; DVC's internal refs never look like this
_EXP_REF = re.compile(r"^refs/exps/([0-9a-f]{2})/([0-9a-f]{38})/([^/]+)$")


@dataclass(frozen=True)
class ExpRef:
    """One experiment as git holds it: its name, its commit and the commit it was run on."""

    name: str
    sha: str
    baseline: str

    @property
    def ref(self) -> str:
        return baseline_prefix(self.baseline) + self.name


@dataclass(frozen=True)
class Baselines:
    """The PR's commits experiments may be on, newest first (head first); `total` before the cap."""

    commits: list[str]
    total: int

    @property
    def capped(self) -> bool:
        return self.total > len(self.commits)


def baseline_prefix(sha: str) -> str:
    """`refs/exps/ab/cdef…/`: where DVC puts the experiments run on commit `sha` (40 hex digits)."""
    return f"{EXPS}/{sha[:2]}/{sha[2:]}/"


def parse_ref(ref: str) -> tuple[str, str] | None:
    """(baseline, name) of an experiment ref; None for anything else (DVC's internal refs included)."""
    found = _EXP_REF.match(ref)
    return (found[1] + found[2], found[3]) if found else None


def pr_commits(root: Path | str, base: str, head: str, cap: int) -> Baselines:
    """The commits of `base..head` (at most `cap`, newest first; head always first). A shallow clone is
    deepened until base and head meet (`mlci.repo.git.merge_base`).

    Raises GitError: the clone is shallow and the remote could not deepen it."""
    merge_base(root, base, head)
    listed = git(root, "rev-list", "--count", f"{base}..{head}", check=False)
    total = int(listed) if listed.isdigit() else 0
    commits = git(root, "rev-list", f"--max-count={max(cap, 1)}", f"{base}..{head}", check=False).split()
    if not commits:  # head is base, or already merged into it: its own experiments still count
        commits, total = [head], max(total, 1)
    return Baselines(commits, total)


def fetch_refspecs(baselines: Sequence[str]) -> list[str]:
    """One forced refspec per baseline, mapping the remote's experiments on it to the same local refs."""
    return [f"+{baseline_prefix(sha)}*:{baseline_prefix(sha)}*" for sha in baselines]


def fetch_experiments(
    root: Path | str, baselines: Sequence[str], remote: str = "origin", env: Mapping[str, str] | None = None
) -> str:
    """Fetch the experiments on `baselines` from the git `remote`, nothing else (no tags, no branches).

    `env`: extra environment for git (e.g. `GIT_CONFIG_*` carrying a token). Returns "" when fetched,
    else git's own reason in one line (the caller says what it means); no remote of that name is a
    reason too."""
    import os

    if remote not in git(root, "remote", check=False).split():
        return f"this clone has no git remote '{remote}'"
    proc = subprocess.run(
        ["git", "fetch", "--no-tags", "--no-write-fetch-head", remote, *fetch_refspecs(baselines)],
        cwd=root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode == 0:
        return ""
    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    causes = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    return (causes or lines or [f"git fetch exited {proc.returncode}"])[0]


def list_experiments(root: Path | str, baselines: Sequence[str]) -> list[ExpRef]:
    """The experiments this clone holds on `baselines`, newest first (by commit date), in `baselines`' order
    of preference for ties. Refs that are not experiments (DVC's exec/apply/stash/celery) are skipped."""
    if not baselines:
        return []
    out = git(
        root,
        "for-each-ref",
        "--sort=-committerdate",
        "--format=%(objectname) %(refname)",
        *(baseline_prefix(sha) for sha in baselines),
        check=False,
    )
    wanted = set(baselines)
    found: list[ExpRef] = []
    for line in out.splitlines():
        sha, _, ref = line.partition(" ")
        parsed = parse_ref(ref)
        if parsed and parsed[0] in wanted:
            found.append(ExpRef(name=parsed[1], sha=sha, baseline=parsed[0]))
    return found
