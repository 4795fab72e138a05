"""The DVC remote `mlci train` uses as its cache: found, checked before the pipeline runs, and its
failures turned into errors that name the remote and the fix."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.errors import MlciError
from mlci.fsutil import write_bytes_atomic
from mlci.safety import one_line

# The env vars DVC's cloud plugins read, and the repository secrets the train workflow maps to them.
CREDENTIALS: dict[str, tuple[tuple[str, ...], str]] = {
    "s3": (
        (
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ),
        "set the secrets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
        "(or use aws-actions/configure-aws-credentials)",
    ),
    "gs": (
        ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_AUTH_ACCESS_TOKEN"),
        "set the secret GCP_CREDENTIALS_JSON (a service-account key; the workflow writes it to a file "
        "and sets GOOGLE_APPLICATION_CREDENTIALS)",
    ),
    "azure": (
        (
            "AZURE_STORAGE_CONNECTION_STRING",
            "AZURE_STORAGE_KEY",
            "AZURE_CLIENT_SECRET",
            "AZURE_STORAGE_SAS_TOKEN",
        ),
        "set the secret AZURE_STORAGE_CONNECTION_STRING",
    ),
}
# The repository secrets every reusable workflow that touches the DVC remote accepts (train, report,
# deploy, rollback, monitor), per URL scheme, with what each holds. One list: .ci/install_steps.py writes
# them into the workflows, `mlci init` writes into each caller the ones the project's remotes need.
SECRETS: dict[str, tuple[tuple[str, str], ...]] = {
    "s3": (
        ("AWS_ACCESS_KEY_ID", "an AWS access key id, for s3:// remotes"),
        ("AWS_SECRET_ACCESS_KEY", "the secret access key of AWS_ACCESS_KEY_ID"),
        ("AWS_SESSION_TOKEN", "the session token of temporary AWS credentials (optional)"),
    ),
    "gs": (
        (
            "GCP_CREDENTIALS_JSON",
            "a service-account key (JSON) for gs:// remotes: written to a file (mode 600) under "
            "runner.temp that GOOGLE_APPLICATION_CREDENTIALS names for the job, removed after",
        ),
    ),
    "azure": (
        ("AZURE_STORAGE_CONNECTION_STRING", "an Azure storage connection string, for azure:// remotes"),
        ("AZURE_STORAGE_SAS_TOKEN", "or a SAS token (with the remote's account_name in .dvc/config)"),
    ),
    "gdrive": (("GDRIVE_CREDENTIALS_DATA", "a service account's JSON key, for gdrive:// remotes"),),
}


# Variables that only work together: one set without the other fails in the SDK (botocore's
# PartialCredentialsError), often a misspelt or unpassed secret.
PAIRS: dict[str, tuple[tuple[str, str], ...]] = {"s3": (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),)}


def half_pairs(scheme: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(set, missing) for each PAIRS pair of which only one variable is set (names only)."""
    found = []
    for first, second in PAIRS.get(scheme, ()):
        if bool(env.get(first)) != bool(env.get(second)):
            found.append((first, second) if env.get(first) else (second, first))
    return found


def secrets_needed(remotes: list[Remote]) -> list[str]:
    """The repository secrets the remotes' schemes need (SECRETS), in SECRETS' order; none for local,
    SSH, HTTP or other remotes."""
    schemes = {remote.scheme for remote in remotes}
    return [name for scheme, pairs in SECRETS.items() if scheme in schemes for name, _ in pairs]


_CONFIG_CREDENTIALS = (
    "credentialpath",
    "profile",
    "access_key_id",
    "connection_string",
    "account_key",
    "sas_token",
    "client_secret",
    "allow_anonymous_login",
    "use_ssl_anonymous",
)
_EXTRAS = {
    "s3": "s3",
    "gs": "gs",
    "azure": "azure",
    "ssh": "ssh",
    "gdrive": "gdrive",
    "oss": "oss",
    "hdfs": "hdfs",
    "webdav": "webdav",
    "webdavs": "webdav",
}


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
    pass


# option names of DVC remotes (`dvc remote modify --local`) whose values are credentials
_SECRET_OPTIONS = re.compile(
    r"(?i)(password|secret|token|connection_string|account_key|^key$|credentials?_?data)"
)


def register_secrets(options: Mapping[str, Any]) -> None:
    """Every credential in a remote's options is redacted from all of mlci's outputs (mlci.redact),
    and so is the userinfo of its URL."""
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
            "no DVC remote: mlci train needs one to reuse and store results",
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


def plugin_requirement(scheme: str) -> str:
    """The pip requirement of DVC's plugin for this scheme, as the installed DVC's own extra declares it
    (`dvc-s3<4,>=3.2.1` for `dvc[s3]`: the plugin versions this DVC release works with); "" when DVC
    needs no plugin. A plugin requirement, not `dvc[s3]==X`, so that installing it next to mlci can
    never move DVC itself."""
    extra = _EXTRAS.get(scheme)
    if extra is None:
        return ""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        declared = requires("dvc") or []
    except PackageNotFoundError:  # pragma: no cover - mlci depends on dvc
        declared = []
    name = re.escape(extra)
    wanted = re.compile(rf"^(dvc-{name})\s*([^;\[]*?)\s*;\s*extra\s*==\s*[\"']{name}[\"']\s*$")
    for line in declared:
        match = wanted.match(line)
        if match:
            return match.group(1) + match.group(2).replace(" ", "")
    return f"dvc-{extra}"


def plugin_installed(scheme: str) -> bool:
    return _plugin_installed(scheme)


def credentials_present(remote: Remote, env: dict[str, str]) -> tuple[list[str], list[str], str]:
    """(variables DVC's plugin reads that are set — names only, options in the remote's config that
    hold credentials, the fix when neither is there)."""
    expected, fix = CREDENTIALS.get(remote.scheme, ((), ""))
    return (
        [v for v in expected if env.get(v)],
        [k for k in _CONFIG_CREDENTIALS if remote.options.get(k)],  # DVC fills some with False
        fix,
    )


def preflight(remote: Remote, *, has_results: bool, env: dict[str, str] | None = None) -> list[str]:
    """Check what can be checked without network; return warnings for what cannot be known yet.

    `has_results`: the repo has a dvc.lock, so the remote should hold its results. A local remote's
    folder may be missing only before the first run (DVC creates it on the first push).
    """
    env = dict(os.environ) if env is None else env
    scheme = remote.scheme
    if scheme == "local":
        path = Path(remote.url)
        if not path.exists() and not has_results and path.parent.is_dir():
            return []  # first run: the push creates it
        if not path.is_dir():
            raise RemoteError(
                f"{remote.describe()}: the folder does not exist or is not reachable",
                "mount or create it, or point the remote elsewhere: "
                f"`dvc remote modify {remote.name} url PATH`",
            )
        if not os.access(path, os.R_OK | os.W_OK | os.X_OK):  # pragma: no cover - root passes this
            raise RemoteError(
                f"{remote.describe()}: no read/write permission on the folder",
                "fix the folder's permissions for the runner's user",
            )
        return []
    extra = _EXTRAS.get(scheme)
    if extra and not _plugin_installed(scheme):
        raise RemoteError(
            f"{remote.describe()}: DVC's {scheme} plugin is not installed here",
            f"install it next to mlci: `pip install '{plugin_requirement(scheme)}'` (`mlci doctor` "
            "lists every remote's plugin)",
        )
    for have, lack in half_pairs(scheme, env):  # the SDK would stop on it anyway, after the work
        raise RemoteError(
            f"{remote.describe()}: {have} is set but {lack} is not (the SDK refuses half a key pair)",
            f"set the secret {lack} as well, and pass it to the job like {have}",
        )
    expected, fix = CREDENTIALS.get(scheme, ((), ""))
    has_config = any(remote.options.get(k) for k in _CONFIG_CREDENTIALS)
    if expected and not has_config and not any(env.get(v) for v in expected):
        return [f"{remote.describe()}: no credentials in the environment ({', '.join(expected[:2])}); {fix}"]
    return []


def _plugin_installed(scheme: str) -> bool:
    import importlib.util

    module = {
        "s3": "dvc_s3",
        "gs": "dvc_gs",
        "azure": "dvc_azure",
        "ssh": "dvc_ssh",
        "gdrive": "dvc_gdrive",
        "oss": "dvc_oss",
        "hdfs": "dvc_hdfs",
        "webdav": "dvc_webdav",
        "webdavs": "dvc_webdav",
    }.get(scheme)
    return module is None or importlib.util.find_spec(module) is not None


# DVC's words for a remote it could not use, and what that means for the user.
_PATTERNS: tuple[tuple[str, str, str], ...] = (
    (
        r"missing dependencies|pip install 'dvc\[|requires 'dvc-[a-z0-9]+' to be installed",
        "DVC's {scheme} plugin is not installed here",
        "install it next to mlci: `pip install '{requirement}'` (in the workflows it is found from "
        ".dvc/config; the input `dvc-plugins: {scheme}` names it explicitly)",
    ),
    (
        r"Checkout failed for following targets|do not exist neither locally nor on remote|missing-files|"
        r"missing data 'source'|No storage files available",
        "data the pipeline needs is not in the remote (was it pushed?)",
        "push it from where it was produced: `dvc push --run-cache -r {name}` (mlci train pushes by default)",
    ),
    (
        r"credential|NoCredentialsError|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|"
        r"AccessDenied|\b403\b|Forbidden|Unauthorized|\b401\b|authenticat|PermissionError|"
        r"Access Key Id you provided does not exist|InvalidClientTokenId",
        "the credentials were refused or are missing",
        "",
    ),
    (
        r"NoSuchBucket|bucket does not exist|ContainerNotFound|container does not exist|\b404 Not Found",
        "the bucket or container does not exist",
        "",
    ),
    (
        r"Could not connect|Cannot connect to host|Connect call failed|ConnectionError|ConnectTimeout|"
        r"Name or service not known|timed out|Connection refused|Failed to establish a new connection|"
        r"Max retries exceeded|ServiceRequestError|"
        r"Temporary failure in name resolution|EndpointConnectionError|unreachable",
        "the remote is unreachable",
        "",
    ),
    (r"failed to (pull|push|fetch)|failed to transfer|No such file or directory", "transfer failed", ""),
)


_MISSING_DATA = 1  # the pattern DVC also prints for a remote it could not reach


def explain_failure(remote: Remote, output: str, action: str) -> RemoteError | None:
    """A RemoteError when DVC's output says the remote failed (not the pipeline); else None."""
    # DVC's own footer ("Having any troubles? Hit us up at …") says nothing about this failure
    lines = [ln for ln in output.splitlines() if "Having any troubles?" not in ln]
    first = next((i for i, ln in enumerate(lines) if ln.startswith("ERROR")), None)
    text = "\n".join(lines[first:] if first is not None else lines[-20:])
    if "failed to run:" in text:
        return None  # a stage's own command failed: not the remote's doing
    for number, (pattern, meaning, fix) in enumerate(_PATTERNS):
        if re.search(pattern, text, flags=re.IGNORECASE):
            detail = one_line(" ".join(lines[first:][:3]) if first is not None else lines[-1:], 300)
            values = {
                "name": remote.name,
                "scheme": remote.scheme,
                "requirement": plugin_requirement(remote.scheme),
            }
            meaning = meaning.format(**values)
            hint = fix.format(**values) if fix else fix_hint(remote)
            if number == _MISSING_DATA and remote.scheme != "local" and not _answered(remote):
                # DVC reports an unreachable remote as missing data too; unless its server just
                # accepted a connection, it may be either
                meaning += ", or the remote could not be reached"
                hint = f"{fix_hint(remote)}; if it is reachable, {hint}"
            return RemoteError(f"{remote.describe()}: {action} failed: {meaning} ({detail})", hint)
    return None


def explain_exception(root: Path, error: BaseException, action: str) -> RemoteError | None:
    """`explain_failure` for an exception DVC's Python API raised, blamed on the project's default remote
    (the one DVC streams cached files from); None when it is not a remote's failure."""
    try:
        remote, _ = find(root)
    except RemoteError:
        return None
    return explain_failure(remote, f"ERROR: {one_line(error, 600)}", action)


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


def _answered(remote: Remote) -> bool:
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


def diagnose(root: Path, name: str = "") -> RemoteError | None:
    """Ask the remote itself why data could not be read: unreachable, credentials refused, bucket or
    container missing (a RemoteError naming the remote and the fix), or None when it answers (then it
    is reachable and simply lacks the objects). One listing call; used only after a read has failed."""
    try:
        remote, _ = find(root, name)
    except RemoteError as exc:
        return exc
    if remote.scheme == "local":
        folder = Path(remote.url) if Path(remote.url).is_absolute() else root / ".dvc" / remote.url
        if not folder.is_dir():
            return RemoteError(
                f"{remote.describe()}: the folder does not exist or is not reachable", fix_hint(remote)
            )
        return None
    failure = unreachable(remote)
    if failure is not None:
        return failure
    if not _plugin_installed(remote.scheme):
        return RemoteError(
            f"{remote.describe()}: DVC's {remote.scheme} plugin is not installed here",
            f"install it next to mlci: `pip install '{plugin_requirement(remote.scheme)}'`",
        )
    try:
        from dvc.repo import Repo

        with Repo(str(root)) as repo:
            storage = repo.cloud.get_remote(remote.name)
            fs, path = storage.fs, storage.path
            bucket = path.split("/", 1)[0]
            try:  # ls raises what exists() swallows: a refused connection, refused credentials
                fs.ls(bucket or path)
            except NotImplementedError:  # a filesystem that cannot list (HTTP): nothing to tell
                return None
            except FileNotFoundError:
                return RemoteError(
                    f"{remote.describe()}: the bucket or container '{one_line(bucket, 80)}' does not exist",
                    f"create it, or point the remote at the right one: {fix_hint(remote)}",
                )
    except Exception as exc:  # whatever the plugin raises; its text says which failure it was
        text = f"ERROR: {type(exc).__name__}: {exc}"
        return explain_failure(remote, text, "reading from the remote") or RemoteError(
            f"{remote.describe()}: the remote could not be used ({one_line(text, 300)})", fix_hint(remote)
        )
    return None


def lacks(root: Path, what: str, name: str = "") -> RemoteError:
    """`what` could be read neither from the DVC cache nor from the remote: the remote's own failure when
    it has one (`diagnose`), else the remote answered and lacks the objects."""
    failure = diagnose(root, name)
    if failure is not None:
        return RemoteError(f"{failure.message} (while reading {what})", failure.hint)
    try:
        remote, _ = find(root, name)
    except RemoteError as exc:  # pragma: no cover - diagnose returned it already
        return exc
    return RemoteError(
        f"{remote.describe()} lacks the objects of {what}: it is not in the remote (nor in the local DVC "
        "cache); it was never pushed, or was deleted from the remote",
        f"push it from a checkout of that commit that has it: `dvc push -r {remote.name}` "
        "(`mlci train` pushes its results by default), or re-train that commit",
    )


def read_failure(root: Path, path: str, rev: str | None, name: str = "") -> RemoteError | None:
    """Why `path` at `rev` (None: the checked-out commit) could not be read, when DVC tracks it there
    (then its bytes come from the cache or the remote): the remote's failure or what it lacks. None
    when DVC does not track the path (the caller's own message fits: a typo, an untracked file)."""
    from mlci.repo.recorded import recorded

    if recorded(root, rev or "HEAD").hash_of(path.strip("/")) is None:
        return None
    where = f"{path} at commit {rev[:12]}" if rev else path
    return lacks(root, where, name)


def fix_hint(remote: Remote) -> str:
    scheme = remote.scheme
    if scheme == "local":
        return f"check the folder exists on this runner, or `dvc remote modify {remote.name} url PATH`"
    _, fix = CREDENTIALS.get(scheme, ((), ""))
    where = "BUCKET" if scheme in ("s3", "gs", "azure", "oss") else "HOST"
    modify = f"`dvc remote modify {remote.name} url {scheme}://{where}/PATH` to fix the address"
    return f"{fix}; {modify}" if fix else modify


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
