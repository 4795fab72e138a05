"""Is the remote's server there: one TCP connect per endpoint and process, before DVC's SDKs would retry."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlci.repo.remote.config import Remote, RemoteError, find
from mlci.safety import one_line

# How long the probe waits for the remote's server to accept a connection: a server that answers does
# so in milliseconds; a firewall that drops packets takes the whole wait, once per remote and process.
PROBE_SECONDS = 5.0
_PROBED: dict[tuple[str, int], str | None] = {}  # (host, port) -> why it could not be reached


def unreachable(remote: Remote, env: Mapping[str, str] | None = None) -> RemoteError | None:
    """Whether the remote's server accepts a connection, asked once per process with one TCP connect
    (mlci.repo.endpoint), before DVC's SDKs would retry for minutes: a RemoteError naming the remote,
    the endpoint and the fix, or None when it answered, when its endpoint cannot be known, or when a
    proxy stands between (then the SDK does not connect directly, and DVC's own error will tell)."""
    from mlci.repo import endpoint as ep

    env = os.environ if env is None else env
    where = ep.locate(remote.scheme, remote.url, remote.options, env)
    if where is None or ep.proxied(where, env):
        return None
    key = (where.host, where.port)
    if key not in _PROBED:
        _PROBED[key] = ep.connect(where, PROBE_SECONDS)
    reason = _PROBED[key]
    if reason is None:
        return None
    return RemoteError(
        f"{remote.describe()} is unreachable: {reason} (endpoint {one_line(where.url, 160)}; "
        "mlci tried one connection before DVC would retry)",
        _reach_hint(remote),
    )


def answered(remote: Remote) -> bool:
    """The remote's server accepted the probe's connection in this process (not merely: no probe)."""
    from mlci.repo import endpoint as ep

    where = ep.locate(remote.scheme, remote.url, remote.options, os.environ)
    return (
        where is not None
        and (where.host, where.port) in _PROBED
        and _PROBED[(where.host, where.port)] is None
    )


def unreachable_at(root: Path, name: str = "") -> RemoteError | None:
    """`unreachable` for the named (or default) remote of the project; None when there is none (the
    commands say so where a remote is required)."""
    try:
        remote, _ = find(root, name)
    except RemoteError:
        return None
    return unreachable(remote)


def ensure_reachable(root: Path, name: str = "") -> None:
    """Raise `unreachable_at`'s error: before a DVC operation that cannot go on without the remote."""
    failure = unreachable_at(root, name)
    if failure is not None:
        raise failure


def offline_config(root: Path, name: str = "") -> dict[str, Any] | None:
    """DVC config for a read that may find its files in the local cache: when the remote is
    unreachable, none (`core.remote` empty), so that DVC reads the cache alone and fails at once on a
    file it lacks (then `read_failure` gives the probe's answer), instead of retrying the remote."""
    if unreachable_at(root, name) is None:
        return None
    return {"core": {"remote": ""}}


def _reach_hint(remote: Remote) -> str:
    name = remote.name
    where = {
        "s3": f"check the endpoint (`dvc remote modify {name} endpointurl URL`, or AWS_ENDPOINT_URL)",
        "gs": f"check the endpoint (`dvc remote modify {name} endpointurl URL`)",
        "azure": "check the BlobEndpoint (or AccountName) of AZURE_STORAGE_CONNECTION_STRING, or of "
        f"`dvc remote modify --local {name} connection_string`, or the account name",
        "ssh": f"check the host and port (`dvc remote modify {name} url ssh://HOST/PATH`, `port`)",
    }.get(remote.scheme, f"check the address (`dvc remote modify {name} url URL`)")
    return (
        f"{where}, that the server is up and that this runner's network can reach it; behind a proxy, "
        "set HTTPS_PROXY (mlci then leaves the connection to DVC)"
    )
