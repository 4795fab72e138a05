"""Which commit of mlci this is, so `mlci init` can pin workflows by SHA to a commit that exists upstream.

In order: the release table (a release commit cannot name itself, so the release process adds its entry
in the next commit, see docs/releasing.md); the commit pip installed from a git URL (PEP 610's
`direct_url.json`); a source checkout's HEAD when a remote-tracking branch of mlci's repository contains
it. Anything else (a local folder or wheel, an unpushed commit) has no commit a workflow could fetch.
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path

from mlci import __version__
from mlci.repo.git import git_run

REPOSITORY = "mlci-dev/mlci"

# version -> full commit SHA of the release tag
COMMITS: dict[str, str] = {}

_SHA = re.compile(r"^[0-9a-f]{40}$")
_UPSTREAM = re.compile(rf"[:/]{re.escape(REPOSITORY)}(?:\.git)?/?$")


def own_commit() -> tuple[str | None, str]:
    """(the upstream commit this mlci is, or None; how it was found or why none was)."""
    known = COMMITS.get(__version__)
    if known:
        return known, f"the release commit of mlci {__version__}"
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / ".git").exists() and (checkout / "src" / "mlci").is_dir():
        return _checkout_commit(checkout)
    return _installed_commit()


def _installed_commit() -> tuple[str | None, str]:
    try:
        text = metadata.distribution("mlci").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        text = None
    if not text:
        return (
            None,
            f"mlci {__version__} was installed from a package index, which has no release commit for it",
        )
    origin = json.loads(text)
    commit = str(origin.get("vcs_info", {}).get("commit_id", ""))
    url = str(origin.get("url", ""))
    if _SHA.match(commit) and _UPSTREAM.search(url):
        return commit, f"the commit pip installed from {url}"
    if _SHA.match(commit):
        return None, f"mlci was installed from {url}, which is not {REPOSITORY}"
    return None, f"mlci was installed from a local folder or wheel ({url}), which names no upstream commit"


def _git(checkout: Path, *args: str) -> str:
    proc = git_run(checkout, *args)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _checkout_commit(checkout: Path) -> tuple[str | None, str]:
    head = _git(checkout, "rev-parse", "HEAD")
    remotes = [
        name
        for name in _git(checkout, "remote").split()
        if _UPSTREAM.search(_git(checkout, "remote", "get-url", name))
    ]
    if not remotes:
        return (
            None,
            f"this source checkout has no remote pointing at {REPOSITORY}, so HEAD may not exist there",
        )
    branches = _git(checkout, "branch", "-r", "--contains", head, "--list", *[f"{r}/*" for r in remotes])
    if head and branches:
        return head, f"this checkout's HEAD, on {branches.split()[0]}"
    return (
        None,
        f"this checkout's HEAD {head[:12]} is on no branch of {REPOSITORY} that git knows (not pushed?)",
    )
