"""Tables in object storage: `s3://`, `gs://`, `azure://` (or `az://`) and `https://` URLs, read through
the filesystems of DVC's plugins with the credentials and endpoint of the project's DVC remote.

    files, hashes, store = list_tables(root, "s3://bucket/events/date=2026-12-*/")  # sorted URLs
    with store.open(files[0]) as handle: ...        # a seekable file (fsspec), read in blocks

A DVC remote in `.dvc/config` (+ `config.local`) with the same scheme and bucket/container lends its
options (`endpointurl`, keys, `connection_string`, `account_name`, ...), as `dvc pull` would use them;
otherwise the standard environment applies (AWS_*, incl. AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL;
AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT; GOOGLE_APPLICATION_CREDENTIALS). Only the
listing is fetched up front (names, sizes, ETags); a file's bytes are read when its batches are.
Failures are MlciErrors naming the URL: unreachable, refused, missing, or empty, each with its fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from mlci.errors import MlciError
from mlci.safety import one_line

# URL scheme -> DVC's remote scheme
SCHEMES = {
    "s3": "s3",
    "gs": "gs",
    "gcs": "gs",
    "azure": "azure",
    "az": "azure",
    "https": "https",
    "http": "https",
}
_URL = re.compile(r"^(?P<scheme>[a-z][a-z0-9]*)://(?P<rest>.*)$", re.IGNORECASE)
_SUFFIXES = (".csv", ".parquet", ".pq", ".csv.gz")
_PROBE_SECONDS = 5.0


def is_url(spec: str) -> bool:
    """`spec` is an object-storage or HTTP(S) URL mlci reads (not a local path or DVC path)."""
    match = _URL.match(spec.strip())
    return match is not None and match.group("scheme").lower() in SCHEMES


def is_table(path: str) -> bool:
    """A CSV or Parquet file by its name: a URL's path, without its query (a pre-signed URL's)."""
    return (
        urlsplit(path).path.lower().endswith(_SUFFIXES) if "://" in path else path.lower().endswith(_SUFFIXES)
    )


@dataclass(frozen=True)
class Location:
    """`s3://bucket/key`: `given` the URL's scheme as written, `scheme` DVC's (s3, gs, azure, https)."""

    given: str
    scheme: str
    bucket: str  # bucket or container; the host for https
    key: str  # the path inside it (may hold glob characters)

    @staticmethod
    def parse(url: str) -> Location:
        match = _URL.match(url.strip())
        if match is None or match.group("scheme").lower() not in SCHEMES:
            raise MlciError(f"{url} is not an s3://, gs://, azure://, az:// or https:// URL")
        given = match.group("scheme").lower()
        bucket, _, key = match.group("rest").partition("/")
        if not bucket:
            raise MlciError(f"{url} names no bucket or container", f"write {given}://BUCKET/PATH")
        return Location(given, SCHEMES[given], bucket, key)

    @property
    def glob(self) -> bool:
        key = urlsplit(f"http://host/{self.key}").path if self.scheme == "https" else self.key
        return any(ch in key for ch in "*?[")  # an https:// URL's query is no glob

    def fs_path(self) -> str:
        return f"{self.given}://{self.bucket}/{self.key}" if self.scheme == "https" else self.path(self.key)

    def path(self, key: str) -> str:
        return f"{self.bucket}/{key}".rstrip("/") if key else self.bucket

    def url(self, fs_path: str) -> str:
        """The URL of a path the filesystem listed (`bucket/key`), in the form the user wrote."""
        if self.scheme == "https":
            return fs_path
        return f"{self.given}://{fs_path.lstrip('/')}"

    def base(self) -> str:
        """The URL partition folders are read below: up to the first wildcard, else the URL itself."""
        parts = f"{self.given}://{self.bucket}/{self.key}".split("/")
        for i, part in enumerate(parts):
            if any(ch in part for ch in "*?["):
                return "/".join(parts[:i])
        return "/".join(parts).rstrip("/")


@dataclass
class Store:
    """One bucket's filesystem (fsspec, from DVC's plugin), and where its options came from."""

    location: Location
    fs: Any
    source: str  # "the DVC remote 'x'" or "the environment", for messages

    def open(self, url: str) -> BinaryIO:
        """A file of this store, by URL, read in blocks as it is consumed."""
        path = url if self.location.scheme == "https" else url.split("://", 1)[1]
        handle: BinaryIO = self.fs.open(path, "rb", block_size=8 << 20)
        return handle


def check(url: str) -> None:
    """What can be checked of `url` without the network: its form, and that its plugin is installed
    (MlciError, exit 2, naming the package). Listing it says the rest."""
    from mlci.repo.objectstore_fs import check_plugin

    check_plugin(Location.parse(url))


def list_tables(
    root: Path, url: str, env: Mapping[str, str] | None = None
) -> tuple[list[str], list[str], Store]:
    """(file URLs, their content hashes from the listing, the store): the CSV/Parquet files `url` names
    (a file, a folder prefix, or a glob whose folders are expanded), sorted. MlciError (exit 2) naming
    the URL when it is unreachable, refused, missing or empty, or its plugin is not installed."""
    from mlci.repo.objectstore_fs import connect_store

    env = os.environ if env is None else env
    location = Location.parse(url)
    store = connect_store(root, location, env)
    _STORES[(location.given, location.bucket)] = store
    try:
        found = _listing(store)
    except MlciError:
        raise
    except Exception as exc:
        raise explain(store, url, exc) from None
    tables = sorted((p, info) for p, info in found.items() if is_table(p))
    if not tables:
        raise _empty(store, url, found)
    return [location.url(p) for p, _ in tables], [_hash(location.url(p), i) for p, i in tables], store


# the store each bucket was last listed with in this process: a file of several listings joined into
# one Data (`mlci profile --files URL ...`) is read with its own bucket's store
_STORES: dict[tuple[str, str], Store] = {}


def store_for(url: str, root: Path | None = None) -> Store:
    """The store `url`'s bucket was listed with in this process, else one connected for it (the
    DVC remotes of `root`, default: the working folder)."""
    from mlci.repo.objectstore_fs import connect_store

    location = Location.parse(url)
    key = (location.given, location.bucket)
    if key not in _STORES:
        _STORES[key] = connect_store(root or Path.cwd(), location, os.environ)
    return _STORES[key]


def _listing(store: Store) -> dict[str, dict[str, Any]]:
    """path -> listing entry of every file `store.location` names (folders expanded)."""
    location, fs = store.location, store.fs
    target = location.fs_path()
    if location.scheme == "https":
        if location.glob:
            raise MlciError(
                f"{one_line(target, 200)}: an https:// URL names one file; it cannot be globbed or listed",
                "give one URL per file, or put the files in a bucket (s3://, gs://, azure://)",
            )
        return {target: fs.info(target)}
    if location.glob:
        matched: dict[str, dict[str, Any]] = fs.glob(target, detail=True)
    else:
        matched = {target: fs.info(target)}
    files: dict[str, dict[str, Any]] = {}
    for path, info in matched.items():
        if info.get("type") == "directory":
            files.update(fs.find(path, detail=True))
        else:
            files[path] = info
    return files


def _hash(url: str, info: Mapping[str, Any]) -> str:
    """A file's identity from its listing alone: ETag (or MD5), size and modification time."""
    tag = info.get("ETag") or info.get("etag") or info.get("content_md5") or info.get("md5") or ""
    when = info.get("LastModified") or info.get("last_modified") or info.get("mtime") or ""
    return f"{url}|{str(tag).strip(chr(34))}|{info.get('size', '')}|{when}"


def _empty(store: Store, url: str, found: Mapping[str, Any]) -> MlciError:
    if found:
        names = ", ".join(sorted(Path(p).name for p in found)[:3])
        return MlciError(
            f"{url} holds no .csv or .parquet files (it holds {len(found)} other files: {names} ...)",
            "point to the folder or glob of the table files (.csv, .csv.gz, .parquet, .pq)",
        )
    return missing_or_empty(store, url)


def missing_or_empty(store: Store, url: str) -> MlciError:
    """`url` matched nothing: the bucket/container is missing, or the prefix is empty."""
    location = store.location
    try:
        store.fs.ls(location.bucket)
    except FileNotFoundError:
        return MlciError(
            f"{url}: the bucket or container {location.bucket!r} does not exist ({store.source})",
            "check the bucket's name in the URL, and that the credentials are for the account that holds it",
        )
    except Exception as exc:
        return explain(store, url, exc)
    return MlciError(
        f"{url} is empty: no file in bucket {location.bucket!r} matches it",
        "check the prefix or glob (list it with your cloud's CLI, e.g. `aws s3 ls`), "
        "and that the data for that window has landed",
    )


_REFUSED = re.compile(
    r"(?i)(AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|AuthorizationFailure|AuthenticationFailed|"
    r"AuthorizationPermissionMismatch|InvalidClientTokenId|ExpiredToken|\b403\b|\b401\b|Forbidden|"
    r"NoCredentialsError|Unable to locate credentials|PermissionError|ClientAuthenticationError)"
)
_UNREACHABLE = re.compile(
    r"(?i)(EndpointConnectionError|ConnectionRefused|Connection refused|ClientConnectorError|"
    r"ConnectTimeout|timed out|Name or service not known|nodename nor servname|ServiceRequestError|"
    r"Cannot connect to host)"
)


def explain(store: Store, url: str, exc: BaseException) -> MlciError:
    """The error for a failed listing or read of `url`: refused, unreachable, missing, or as it said."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, PermissionError) or _REFUSED.search(text):
        return MlciError(
            f"{url}: access refused ({store.source}: {one_line(text, 200)})",
            refused_hint(store),
        )
    if _UNREACHABLE.search(text):
        return MlciError(
            f"{url} is unreachable ({one_line(text, 200)})",
            "check the endpoint (AWS_ENDPOINT_URL, or the DVC remote's endpointurl / connection string) "
            "and that this runner's network reaches it",
        )
    if isinstance(exc, FileNotFoundError) and store.location.scheme == "https":
        return MlciError(f"{url}: no such file (the server answered 404)", "check the URL")
    if isinstance(exc, FileNotFoundError):
        return missing_or_empty(store, url)
    return MlciError(f"cannot read {url}: {one_line(text, 300)}", refused_hint(store))


def refused_hint(store: Store) -> str:
    scheme = store.location.scheme
    how = {
        "s3": "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the DVC remote's "
        "`access_key_id`/`secret_access_key`, or a profile)",
        "azure": "set AZURE_STORAGE_CONNECTION_STRING (or the DVC remote's `connection_string`, or "
        "`account_name` with a key or SAS token)",
        "gs": "set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file",
        "https": "the URL must be readable without credentials (a public or pre-signed URL)",
    }[scheme]
    if scheme == "https":
        return how
    return f"{how}, for an identity allowed to list and read {store.location.bucket!r}"
