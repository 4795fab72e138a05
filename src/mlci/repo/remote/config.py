"""The DVC remotes a project configures, read from `.dvc/config` (and `config.local`) as DVC merges them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.errors import MlciError
from mlci.fsutil import write_bytes_atomic
from mlci.safety import one_line


@dataclass(frozen=True)
class Remote:
    name: str
    url: str
    options: dict[str, Any]

    @property
    def scheme(self) -> str:
        match = re.match(r"^([a-z][a-z0-9+.-]*)://", self.url)
        return match.group(1) if match else "local"

    def describe(self) -> str:
        return f"DVC remote '{one_line(self.name, 60)}' ({one_line(self.url, 120)})"


class RemoteError(MlciError):
    """A DVC remote failed; `missing` is True when DVC said the data is not in it (which DVC also says of
    a remote it could not use, so a caller may ask the remote which it was)."""

    def __init__(self, message: str, hint: str | None = None, *, missing: bool = False) -> None:
        super().__init__(message, hint)
        self.missing = missing


# option names of DVC remotes (`dvc remote modify --local`) whose values are credentials
_SECRET_OPTIONS = re.compile(
    r"(?i)(password|secret|token|connection_string|account_key|^key$|credentials?_?data)"
)


def register_secrets(options: dict[str, Any]) -> None:
    """Every credential in a remote's options is redacted from all of mlci's outputs (mlci.redact),
    as the userinfo of its URL is."""
    from mlci import redact

    redact.register(str(value) for name, value in options.items() if _SECRET_OPTIONS.search(str(name)))


def find(root: Path, name: str = "") -> tuple[Remote, str]:
    """The named remote (or the default one) and the default's name; a missing one is an error."""
    from dvc.config import Config, ConfigError

    try:
        config = Config(dvc_dir=str(root / ".dvc"))
    except ConfigError as exc:
        raise RemoteError(f".dvc/config is invalid: {one_line(exc)}", "fix it with `dvc config`") from None
    return from_config(config, name)


def from_config(config: Any, name: str = "") -> tuple[Remote, str]:
    """`find` on a loaded DVC config (an open Repo's `repo.config`)."""
    remotes: dict[str, Any] = dict(config.get("remote", {}))
    wanted = name or str(config.get("core", {}).get("remote", ""))
    if not wanted:
        raise RemoteError(
            "no DVC remote is configured (`core.remote` in .dvc/config names none): DVC-tracked data "
            "not in the local cache cannot be read, nor results reused or stored",
            "add one with `dvc remote add -d storage s3://BUCKET/PATH` and commit .dvc/config"
            + (
                f" (configured remotes: {', '.join(remotes)}; "
                "make one the default with `dvc remote default NAME`)"
                if remotes
                else ""
            ),
        )
    if wanted not in remotes:
        known = ", ".join(remotes) or "none"
        raise RemoteError(
            f"DVC remote '{one_line(wanted, 60)}' is not configured (configured remotes: {known})",
            f"add it with `dvc remote add {wanted} URL`, or set train.remote in mlci.yaml to one of them",
        )
    options = dict(remotes[wanted])
    register_secrets(options)
    default = str(config.get("core", {}).get("remote", ""))
    return Remote(name=wanted, url=str(options.pop("url", "")), options=options), default


def all_remotes(root: Path) -> tuple[list[Remote], str]:
    """Every remote in `.dvc/config` (and `config.local`, which DVC merges in), and the default's name."""
    from dvc.config import Config, ConfigError

    try:
        config = Config(dvc_dir=str(root / ".dvc"))
    except ConfigError as exc:
        raise RemoteError(f".dvc/config is invalid: {one_line(exc)}", "fix it with `dvc config`") from None
    remotes = []
    for name, raw in dict(config.get("remote", {})).items():
        options = dict(raw)
        register_secrets(options)
        remotes.append(Remote(name=str(name), url=str(options.pop("url", "")), options=options))
    return remotes, str(config.get("core", {}).get("remote", ""))


@contextmanager
def as_default(root: Path, remote: Remote, default: str) -> Iterator[None]:
    """Make `remote` DVC's default for one run (`repro --pull` takes no -r), then put it back."""
    if remote.name == default:
        yield
        return
    from mlci.repo.dvc import dvc

    local = root / ".dvc" / "config.local"
    saved = local.read_bytes() if local.exists() else None
    dvc(root, "config", "--local", "core.remote", remote.name)
    try:
        yield
    finally:
        if saved is None:
            local.unlink(missing_ok=True)
        else:
            write_bytes_atomic(local, saved)  # the user's own file: never leave it half-written
