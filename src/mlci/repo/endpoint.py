"""Where a DVC remote's storage server listens, and one TCP connection to it.

A remote that cannot be reached should fail in seconds, naming itself, not after a cloud SDK's retries
(Azure's retries a refused connection with backoff for about two minutes per operation). The endpoint is
read the way DVC's plugins read it: S3 and GCS `endpointurl` (or `AWS_ENDPOINT_URL_S3` /
`AWS_ENDPOINT_URL`), Azure's connection string (`BlobEndpoint`, or the account and endpoint suffix) or
account name, an SSH or HTTP(S) remote's own host and port. None when it cannot be known (S3 without an
endpoint: the SDK picks a regional one) or when something other than a direct connection decides
(a proxy for HTTP-based remotes, `~/.ssh/config` for SSH, which may alias the host or jump through
another).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_PORTS = {"http": 80, "https": 443}
_WEB = {"http": "http", "https": "https", "webdav": "http", "webdavs": "https"}
_PROXIES = ("https_proxy", "http_proxy", "all_proxy")


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    url: str  # as the user configured it, without credentials or query: for messages
    web: bool = True  # spoken to over HTTP(S): a proxy may stand between


def locate(scheme: str, url: str, options: Mapping[str, Any], env: Mapping[str, str]) -> Endpoint | None:
    """The endpoint a remote's plugin connects to, or None when it cannot be known."""
    if scheme == "s3":
        return _from_url(str(options.get("endpointurl") or _aws_endpoint(env) or ""))
    if scheme == "gs":
        return _from_url(str(options.get("endpointurl") or ""))
    if scheme == "azure":
        return _azure(options, env)
    if scheme == "ssh":
        return _ssh(url, options, env)
    if scheme in _WEB:
        parts = urlsplit(url)
        return _from_url(f"{_WEB[scheme]}://{parts.netloc}{parts.path}")
    return None


def proxied(endpoint: Endpoint, env: Mapping[str, str]) -> bool:
    """A proxy is configured for this endpoint (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY in either case, and
    NO_PROXY does not exempt the host): the SDK would not connect to it directly."""
    if not endpoint.web:
        return False
    lowered = {k.lower(): v for k, v in env.items() if v}
    if not any(name in lowered for name in _PROXIES):
        return False
    return not _exempt(endpoint, lowered.get("no_proxy", ""))


def _exempt(endpoint: Endpoint, no_proxy: str) -> bool:
    """NO_PROXY names the host: `*`, the host itself (with or without its port), or a domain it is in
    (`example.com` and `.example.com` both cover `s3.example.com`). Anything subtler (CIDR ranges) reads
    as not exempt: the probe is then skipped, which is never wrong, only slower to fail."""
    host = endpoint.host.lower()
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if entry == "*":
            return True
        name, port = entry.split(":") if entry.count(":") == 1 else (entry, "")
        name = name.lstrip(".")
        if not name or (port and port != str(endpoint.port)):
            continue
        if host == name or host.endswith("." + name):
            return True
    return False


def connect(endpoint: Endpoint, timeout: float) -> str | None:
    """One TCP connection (closed at once); None when the server accepted it, else why not."""
    where = f"{endpoint.host}:{endpoint.port}"
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout):
            return None
    except socket.gaierror:
        return f"the host name {endpoint.host} does not resolve"
    except ConnectionRefusedError:
        return f"the connection to {where} was refused"
    except TimeoutError:
        return f"{where} did not answer within {timeout:g} s"
    except OSError as exc:
        return f"cannot connect to {where}: {exc.strerror or exc}"


def _aws_endpoint(env: Mapping[str, str]) -> str:
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return ""
    return env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or ""


def _from_url(url: str, *, web: bool = True, default_port: int | None = None) -> Endpoint | None:
    url = url.strip()
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if not parts.hostname:
        return None
    try:
        port = parts.port or default_port or _PORTS.get(parts.scheme)
    except ValueError:  # a port that is not a number: DVC's own error says so
        return None
    if port is None:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    shown = f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"
    return Endpoint(host=parts.hostname, port=port, url=shown, web=web)


def _azure(options: Mapping[str, Any], env: Mapping[str, str]) -> Endpoint | None:
    """Azure's blob endpoint: the connection string's (DVC's config first, then the variable adlfs reads),
    else the account's public one."""
    connection = str(options.get("connection_string") or env.get("AZURE_STORAGE_CONNECTION_STRING") or "")
    if connection:
        fields = _connection_fields(connection)
        if fields.get("blobendpoint"):
            return _from_url(fields["blobendpoint"])
        if fields.get("usedevelopmentstorage", "").lower() == "true":
            return _from_url("http://127.0.0.1:10000/devstoreaccount1")
        account = fields.get("accountname", "")
        if not account:
            return None
        protocol = fields.get("defaultendpointsprotocol") or "https"
        suffix = fields.get("endpointsuffix") or "core.windows.net"
        return _from_url(f"{protocol}://{account}.blob.{suffix}")
    account = str(options.get("account_name") or env.get("AZURE_STORAGE_ACCOUNT") or "")
    return _from_url(f"https://{account}.blob.core.windows.net") if account else None


def _connection_fields(connection: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in connection.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


def _ssh(url: str, options: Mapping[str, Any], env: Mapping[str, str]) -> Endpoint | None:
    home = env.get("HOME")
    if home and (Path(home) / ".ssh" / "config").exists():
        return None  # a Host alias, ProxyJump or another port may apply: let SSH decide
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    port = options.get("port")
    return _from_url(
        f"ssh://{parts.netloc.rpartition('@')[2]}", web=False, default_port=int(port) if port else 22
    )
