"""The filesystem for one bucket or container: DVC's plugin, built with the options of the project's DVC
remote on the same bucket (else from the standard environment), after one TCP probe of its endpoint.

The plugins' own option names are DVC's (`endpointurl`, `access_key_id`, `connection_string`,
`account_name`, ...): DVC's plugin classes turn them into the fsspec filesystems' arguments, exactly as
for `dvc pull`, so mlci keeps no second mapping.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlci.errors import MlciError
from mlci.repo.objectstore import Location, Store
from mlci.safety import one_line

# the fsspec module each scheme needs, and the package that brings it
_MODULES = {"s3": ("s3fs", "dvc-s3"), "azure": ("adlfs", "dvc-azure"), "gs": ("gcsfs", "dvc-gs")}


def connect_store(root: Path, location: Location, env: Mapping[str, str]) -> Store:
    """The store of `location`'s bucket; MlciError (exit 2) when its plugin is missing or its endpoint
    does not answer (in seconds: one TCP connection, before an SDK's retries)."""
    check_plugin(location)
    remote = _matching_remote(root, location)
    options = dict(remote.options) if remote is not None else _from_env(location, env)
    source = f"the DVC remote '{one_line(remote.name, 60)}'" if remote is not None else "the environment"
    _probe(location, options, env, source)
    try:
        fs = _filesystem(location, options)
    except MlciError:
        raise
    except Exception as exc:  # the plugin's configuration errors (DVC's ConfigError, a bad key)
        raise MlciError(
            f"{location.given}://{location.bucket}: cannot set up its filesystem from {source}: "
            f"{one_line(exc, 300)}",
            "check the DVC remote's options (`dvc remote modify`) or the environment's credentials",
        ) from None
    return Store(location, fs, source)


def check_plugin(location: Location) -> None:
    """MlciError (exit 2) naming the package to install when `location`'s scheme lacks its plugin."""
    module, package = ("aiohttp", "dvc-http") if location.scheme == "https" else _MODULES[location.scheme]
    if importlib.util.find_spec(module) is None or (
        location.scheme != "https" and importlib.util.find_spec(package.replace("-", "_")) is None
    ):
        from mlci.repo.remote import plugin_requirement

        requirement = plugin_requirement(location.scheme) if location.scheme != "https" else package
        raise MlciError(
            f"{location.given}:// URLs need DVC's {location.scheme} plugin ({package}, which brings {module}), "
            "and it is not installed here",
            f"install it next to mlci: `pip install '{requirement}'`",
        )


def _matching_remote(root: Path, location: Location) -> Any:
    """The DVC remote with the same scheme and bucket/container (the default one first), or None."""
    if location.scheme == "https" or not (root / ".dvc").is_dir():
        return None
    from mlci.repo.remote import RemoteError, all_remotes

    try:
        remotes, default = all_remotes(root)
    except RemoteError:
        return None
    same = [
        r
        for r in remotes
        if r.scheme == location.scheme and r.url.split("://", 1)[1].split("/", 1)[0] == location.bucket
    ]
    same.sort(key=lambda r: r.name != default)
    return same[0] if same else None


def _from_env(location: Location, env: Mapping[str, str]) -> dict[str, Any]:
    """DVC remote options from the standard environment, where the plugin would not read it itself."""
    from mlci.repo.endpoint import _aws_endpoint

    if location.scheme == "s3":
        endpoint = _aws_endpoint(env)
        return {"endpointurl": endpoint} if endpoint else {}
    if location.scheme == "azure":
        if env.get("AZURE_STORAGE_CONNECTION_STRING"):
            return {"connection_string": env["AZURE_STORAGE_CONNECTION_STRING"]}
        if env.get("AZURE_STORAGE_ACCOUNT"):
            return {"account_name": env["AZURE_STORAGE_ACCOUNT"]}
    return {}


def _probe(location: Location, options: Mapping[str, Any], env: Mapping[str, str], source: str) -> None:
    from mlci.repo import endpoint as ep

    url = f"{location.given}://{location.bucket}/{location.key}"
    scheme = location.given if location.scheme == "https" else location.scheme  # http: port 80
    where = ep.locate(scheme, url, options, env)
    if where is None or ep.proxied(where, env):
        return
    reason = ep.connect(where, 5.0)
    if reason is not None:
        raise MlciError(
            f"{url} is unreachable: {reason} (endpoint {one_line(where.url, 160)}, from {source})",
            _reach_hint(location),
        )


def _reach_hint(location: Location) -> str:
    where = {
        "s3": "check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, or the DVC remote's `endpointurl` for this bucket",
        "gs": "check the DVC remote's `endpointurl` for this bucket",
        "azure": "check the BlobEndpoint or AccountName of AZURE_STORAGE_CONNECTION_STRING (or the DVC "
        "remote's `connection_string` / `account_name`)",
        "https": "check the URL's host and port",
    }[location.scheme]
    return f"{where}, that the server is up and that this runner's network reaches it"


def _filesystem(location: Location, options: Mapping[str, Any]) -> Any:
    """The fsspec filesystem DVC's plugin builds from these remote options."""
    if location.scheme == "https":
        from fsspec.implementations.http import HTTPFileSystem  # type: ignore[import-untyped]

        return HTTPFileSystem()
    if location.scheme == "s3":
        from dvc_s3 import S3FileSystem  # type: ignore[import-untyped]

        return S3FileSystem(**{"connect_timeout": 5, **options}).fs
    if location.scheme == "azure":
        from dvc_azure import AzureFileSystem  # type: ignore[import-untyped]

        return AzureFileSystem(**options).fs
    from dvc_gs import GSFileSystem  # type: ignore[import-not-found, import-untyped, unused-ignore]

    return GSFileSystem(**options).fs
