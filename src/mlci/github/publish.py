"""Pick where results go: GitHub when there is a token, the offline outbox otherwise."""

from __future__ import annotations

from pathlib import Path

from mlci.github.client import GitHubClient
from mlci.github.outbox import Outbox


def open_client(
    token: str | None,
    repository: str,
    api_url: str,
    outbox_dir: Path | str,
    run_url: str | None = None,
    max_wait: float = 300,
    timeout: float = 30,
) -> GitHubClient:
    """A GitHub client with a token; without one, the same client over the outbox in `outbox_dir`
    (say which with `.describe()`)."""
    if not token:
        return Outbox(outbox_dir, repository, run_url=run_url)
    return GitHubClient(token, repository, api_url, timeout=timeout, max_wait=max_wait, run_url=run_url)
