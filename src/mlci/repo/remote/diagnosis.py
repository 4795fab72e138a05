"""Why a remote failed: checks before the pipeline runs, DVC's words for a failure turned into an error
naming the remote and the fix, and asking the remote itself after a read failed."""

from __future__ import annotations

import os
import re
from pathlib import Path

from mlci.repo.remote.config import Remote, RemoteError, find
from mlci.repo.remote.plugins import PLUGIN_EXTRAS, plugin_installed, plugin_requirement
from mlci.repo.remote.probe import answered, reach_hint, unreachable
from mlci.repo.remote.secrets import CONFIG_CREDENTIALS, CREDENTIALS, half_pairs
from mlci.safety import one_line


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
    extra = PLUGIN_EXTRAS.get(scheme)
    if extra and not plugin_installed(scheme):
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
    has_config = any(remote.options.get(k) for k in CONFIG_CREDENTIALS)
    if expected and not has_config and not any(env.get(v) for v in expected):
        return [f"{remote.describe()}: no credentials in the environment ({', '.join(expected[:2])}); {fix}"]
    return []


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
        r"Temporary failure in name resolution|EndpointConnectionError|unreachable|"
        r"Failed to connect to proxy|ProxyConnectionError",
        "the remote is unreachable",
        "",
    ),
    (r"failed to (pull|push|fetch)|failed to transfer|No such file or directory", "transfer failed", ""),
)


_MISSING_DATA = 1  # the pattern DVC also prints for a remote it could not reach
_UNREACHABLE = 4  # nothing answered: the address or the network, never the keys (none were checked)


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
            if number == _UNREACHABLE:
                hint = reach_hint(remote)
            if number == _MISSING_DATA and remote.scheme != "local" and not answered(remote):
                # DVC reports an unreachable remote as missing data too; unless its server just
                # accepted a connection, it may be either
                meaning += ", or the remote could not be reached"
                hint = f"{reach_hint(remote)}; if it is reachable, {hint}"
            message = f"{remote.describe()}: {action} failed: {meaning} ({detail})"
            return RemoteError(message, hint, missing=number == _MISSING_DATA)
    return None


def explain_exception(root: Path, error: BaseException, action: str) -> RemoteError | None:
    """`explain_failure` for an exception DVC's Python API raised, blamed on the project's default remote
    (the one DVC streams cached files from); None when it is not a remote's failure."""
    try:
        remote, _ = find(root)
    except RemoteError:
        return None
    return explain_failure(remote, f"ERROR: {one_line(error, 600)}", action)


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
    if not plugin_installed(remote.scheme):
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
