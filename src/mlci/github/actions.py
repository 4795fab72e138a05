"""The GitHub Actions runtime: what the run is about, and the workflow-command writers.

Outside Actions (no `GITHUB_ACTIONS=true`), each writer degrades to readable terminal output, so
every command runs the same locally.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from mlci.errors import MlciError
from mlci.readers import read_json
from mlci.redact import redact
from mlci.safety import write_command

SUMMARY_LIMIT = 1024 * 1024  # GitHub rejects a step summary over 1 MiB
Level = Literal["error", "warning", "notice"]


@dataclass(frozen=True)
class Runtime:
    """Facts about the current run, read once from the environment."""

    in_actions: bool = False
    event_name: str = ""
    event: Mapping[str, Any] = field(default_factory=dict)
    repository: str = ""
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    run_id: str = ""
    run_attempt: str = ""
    workflow: str = ""
    sha: str = ""
    ref: str = ""
    token: str = field(default="", repr=False)
    output_file: str = ""
    summary_file: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Runtime:
        env = os.environ if env is None else env
        token = env.get("MLCI_GITHUB_TOKEN") or env.get("GITHUB_TOKEN") or ""
        return cls(
            in_actions=env.get("GITHUB_ACTIONS") == "true",
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event=_read_event(env.get("GITHUB_EVENT_PATH", "")),
            repository=env.get("GITHUB_REPOSITORY", ""),
            api_url=env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
            server_url=env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
            run_id=env.get("GITHUB_RUN_ID", ""),
            run_attempt=env.get("GITHUB_RUN_ATTEMPT", ""),
            workflow=env.get("GITHUB_WORKFLOW", ""),
            sha=env.get("GITHUB_SHA", ""),
            ref=env.get("GITHUB_REF", ""),
            token=token,
            output_file=env.get("GITHUB_OUTPUT", ""),
            summary_file=env.get("GITHUB_STEP_SUMMARY", ""),
        )

    @property
    def pull_request(self) -> Mapping[str, Any]:
        pr = self.event.get("pull_request")
        return pr if isinstance(pr, Mapping) else {}

    @property
    def merge_group(self) -> Mapping[str, Any]:
        """A merge queue's group (`merge_group` event): its head is the queue's temporary branch, its
        base the commit it was built on — the previous group's head for the second PR in the queue."""
        group = self.event.get("merge_group") if self.event_name == "merge_group" else None
        return group if isinstance(group, Mapping) else {}

    @property
    def pr_number(self) -> int | None:
        number = self.pull_request.get("number")
        return int(number) if isinstance(number, int) else None

    @property
    def head_sha(self) -> str:
        """The commit under test: on a PR the head from the payload (GITHUB_SHA is a merge commit)."""
        if self.pull_request:
            return str(self.pull_request.get("head", {}).get("sha", ""))
        return str(self.merge_group.get("head_sha") or self.sha)

    @property
    def base_sha(self) -> str:
        """What the change is compared with: a PR's base commit, a merge group's `base_sha`."""
        if self.pull_request:
            return str(self.pull_request.get("base", {}).get("sha", ""))
        return str(self.merge_group.get("base_sha", ""))

    @property
    def base_ref(self) -> str:
        if self.pull_request:
            return str(self.pull_request.get("base", {}).get("ref", ""))
        return str(self.merge_group.get("base_ref", "")).removeprefix("refs/heads/")

    @property
    def head_ref(self) -> str:
        if self.pull_request:
            return str(self.pull_request.get("head", {}).get("ref", ""))
        if self.merge_group:
            return str(self.merge_group.get("head_ref", "")).removeprefix("refs/heads/")
        return self.ref.removeprefix("refs/heads/")

    @property
    def is_fork(self) -> bool:
        head_repo = self.pull_request.get("head", {}).get("repo") or {}
        return bool(head_repo.get("fork")) and head_repo.get("full_name") != self.repository

    @property
    def default_branch(self) -> str:
        repo = self.event.get("repository")
        return str(repo.get("default_branch", "")) if isinstance(repo, Mapping) else ""

    @property
    def run_url(self) -> str:
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"


def _read_event(path: str) -> Mapping[str, Any]:
    if not path:
        return {}
    try:
        data = read_json(path, "GITHUB_EVENT_PATH")
    except FileNotFoundError:
        raise MlciError(f"GITHUB_EVENT_PATH points to a missing file: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MlciError(f"GITHUB_EVENT_PATH is not a JSON event payload: {exc}") from None
    return data if isinstance(data, dict) else {}


# --- workflow commands -------------------------------------------------------------------------


def escape_data(value: str) -> str:
    """Escape a workflow command's message, as the Actions runner unescapes it."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


class Actions:
    """Writers for one run: outputs, step summary, annotations, groups, masks."""

    def __init__(self, runtime: Runtime, stream: TextIO | None = None) -> None:
        self.runtime = runtime
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    def _command(self, name: str, message: str, **props: str | int | None) -> None:
        given = {k: v for k, v in props.items() if v not in (None, "")}
        text = ",".join(f"{k}={escape_property(redact(str(v)))}" for k, v in given.items())
        message = message if name == "add-mask" else redact(message)
        write_command(self.stream, f"::{name}{' ' + text if text else ''}::{escape_data(message)}")

    def set_output(self, name: str, value: str) -> None:
        if not self.runtime.output_file:
            return
        value = redact(value)
        delimiter = f"mlci_{secrets.token_hex(16)}"
        while delimiter in value:  # pragma: no cover - 128 random bits
            delimiter = f"mlci_{secrets.token_hex(16)}"
        with open(self.runtime.output_file, "a", encoding="utf-8") as handle:
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")

    def append_summary(self, markdown: str) -> bool:
        """Append to the job summary; cut with a note at GitHub's 1 MiB cap. False outside Actions."""
        if not self.runtime.summary_file:
            return False
        path = Path(self.runtime.summary_file)
        used = path.stat().st_size if path.exists() else 0
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(fit_summary(redact(markdown), SUMMARY_LIMIT - used, self.runtime.run_url))
        return True

    def annotate(
        self,
        level: Level,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        title: str | None = None,
    ) -> None:
        if self.runtime.in_actions:
            self._command(level, message, file=file, line=line, title=title)
            return
        where = f"{file}:{line}: " if file and line else f"{file}: " if file else ""
        heading = f"{title}: " if title else ""
        print(f"{level}: {where}{heading}{message}", file=sys.stderr, flush=True)

    def mask(self, secret: str) -> None:
        if self.runtime.in_actions and secret:
            self._command("add-mask", secret)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        if self.runtime.in_actions:
            self._command("group", title)
        else:
            print(f"── {title}", file=self.stream, flush=True)
        try:
            yield
        finally:
            if self.runtime.in_actions:
                write_command(self.stream, "::endgroup::")


def fit_summary(markdown: str, room: int, run_url: str = "") -> str:
    """Cut markdown to `room` bytes at a line boundary, with a note saying so."""
    data = markdown.encode("utf-8")
    if len(data) <= room:
        return markdown
    where = f" The full report is in the run's log and artifacts: {run_url}" if run_url else ""
    note = f"\n\n> [!WARNING]\n> This summary was cut at GitHub's 1 MiB limit.{where}\n"
    keep = data[: max(0, room - len(note.encode("utf-8")))].decode("utf-8", errors="ignore")
    return keep[: keep.rfind("\n") + 1] + note if "\n" in keep else keep + note
