"""Helpers for the deploy tests: small real git repos with a bare origin, and GTO's own view of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlci.repo.git import git


def git_project(tmp: Path, commits: int = 3) -> tuple[Path, Path, list[str]]:
    """A repo with `commits` commits pushed to a bare origin; returns (root, origin, shas)."""
    origin, root = tmp / "origin.git", tmp / "work"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp, "init", "-q", "-b", "main", str(root))
    git(root, "remote", "add", "origin", str(origin))
    shas = []
    for i in range(commits):
        (root / "model.txt").write_text(f"model {i}\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"model {i}")
        shas.append(git(root, "rev-parse", "HEAD"))
    git(root, "push", "-q", "origin", "main")
    return root, origin, shas


def clone(origin: Path, dest: Path, *extra: str) -> Path:
    git(dest.parent, "clone", "-q", *extra, f"file://{origin}", str(dest))
    return dest


def gto_show(root: Path, name: str = "") -> Any:
    """The real `gto show --json` from this interpreter's environment, as a user would run it."""
    gto = Path(sys.executable).parent / "gto"
    proc = subprocess.run(
        [str(gto), "show", *([name] if name else []), "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def local_only_tags(root: Path, remote: str = "origin") -> set[str]:
    """Tags this clone has that the remote does not: what a half-done push would leave behind."""
    local = set(git(root, "tag").split())
    listed = git(root, "ls-remote", "--tags", remote).splitlines()
    remote_tags = {line.split("refs/tags/", 1)[1].removesuffix("^{}") for line in listed}
    return local - remote_tags


def remote_tags(origin: Path) -> dict[str, str]:
    """tag → commit, as the bare origin holds them."""
    out = git(origin, "for-each-ref", "refs/tags", "--format=%(refname:strip=2) %(*objectname)")
    return dict(line.split(" ", 1) for line in out.splitlines())
