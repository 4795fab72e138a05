"""What every command is handed: the repo root, its config, the run, and the writers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlci.config import Config, load_config
from mlci.github.actions import Actions, Runtime
from mlci.repo.git import GitError, project_root
from mlci.safety import repo_path

if TYPE_CHECKING:
    from mlci.github.client import GitHubClient


@dataclass
class RunContext:
    root: Path
    config: Config
    runtime: Runtime
    actions: Actions
    _client: GitHubClient | None = field(default=None, repr=False)
    in_repo: bool = True  # False: started outside any git repository (`repo_optional`)

    @classmethod
    def load(
        cls, start: Path | str = ".", env: Mapping[str, str] | None = None, *, repo_optional: bool = False
    ) -> RunContext:
        """The context of a command run in `start`. `repo_optional`: a command that can work on
        plain files (`mlci monitor --reference A --current B`) runs outside a git repository too,
        with `start` as its root and mlci.yaml read from there when present."""
        in_repo = True
        try:
            root = project_root(start)
        except GitError:
            if not repo_optional:
                raise
            root, in_repo = Path(start).resolve(), False
        runtime = Runtime.from_env(env)
        actions = Actions(runtime)
        actions.mask(runtime.token)
        config = load_config(root)
        return cls(root=root, config=config, runtime=runtime, actions=actions, in_repo=in_repo)

    def github(self) -> GitHubClient:
        """The GitHub API, or the offline outbox when there is no token (said once)."""
        if self._client is None:
            from mlci.github.publish import open_client

            outbox = repo_path(self.root, self.config.github.outbox, "github.outbox in mlci.yaml")
            if not (self.runtime.token and self.runtime.repository):
                click.echo(f"no GitHub token: writing what would be posted to {self.config.github.outbox}/")
            self._client = open_client(
                token=self.runtime.token or None,
                repository=self.runtime.repository or "local/repo",
                api_url=self.runtime.api_url,
                outbox_dir=outbox,
                run_url=self.runtime.run_url or None,
                max_wait=self.config.github.max_wait,
                timeout=self.config.github.timeout,
            )
        return self._client
