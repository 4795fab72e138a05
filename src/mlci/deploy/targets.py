"""Where a deployed model goes: a versioned local store, the user's command, or a signed webhook."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlci.config import DeployConfig, TargetConfig
from mlci.errors import GateFailed, MlciError
from mlci.fsutil import write_text_atomic
from mlci.safety import one_line

CARD_FILE = "MODEL_CARD.md"
META_FILE = "metadata.json"
SIGNATURE_HEADER = "X-Mlci-Signature-256"
TIMESTAMP_HEADER = "X-Mlci-Timestamp"  # unix seconds when the delivery was signed
DELIVERY_HEADER = "X-Mlci-Delivery"  # a uuid4, the same on every retry of one delivery


class DeliveryFailed(GateFailed):
    """The target refused the model (exit 1): the deployment is recorded as failed."""


@dataclass(frozen=True)
class Delivery:
    """One model version on its way to a target."""

    name: str
    version: str
    stage: str
    commit: str
    artifact: Path  # a file or a folder, already fetched from DVC
    card: str  # the model card, markdown
    sha256: str
    extra: Mapping[str, Any] = field(default_factory=dict)  # repository, run URL, ...

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "stage": self.stage,
            "commit": self.commit,
            "artifact": self.artifact.name,
            "sha256": self.sha256,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **self.extra,
        }


class Target(Protocol):
    def deliver(self, delivery: Delivery) -> str:
        """Deliver the model; return where it went (a path or URL) for the deployment record."""
        ...


def sha256_of(path: Path) -> str:
    """sha256 of a file's bytes; of a folder, over its sorted relative paths and file digests."""
    if path.is_file():
        return _file_digest(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{item.relative_to(path).as_posix()}\0{_file_digest(item)}\n".encode())
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def target_configs(deploy: DeployConfig) -> dict[str, TargetConfig]:
    """The user's targets; `local` is always there unless they define their own `local`."""
    return {"local": TargetConfig(), **deploy.targets}


def open_target(deploy: DeployConfig, name: str, root: Path) -> Target:
    configs = target_configs(deploy)
    if name not in configs:
        raise MlciError(
            f"deploy target '{name}' is not configured",
            f"known targets: {', '.join(sorted(configs))}; add it under deploy.targets in mlci.yaml",
        )
    config = configs[name]
    where = f"deploy.targets.{name}"
    if config.type == "local":
        return LocalTarget(root / config.dir if not Path(config.dir).is_absolute() else Path(config.dir))
    if config.type == "command":
        if not config.run.strip():
            raise MlciError(f"{where}: a command target needs `run`", "e.g. run: ./scripts/ship.sh")
        return CommandTarget(config.run, root, config.run_timeout)
    if not config.url.startswith(("http://", "https://")):
        raise MlciError(f"{where}: a webhook target needs an http(s) `url`, got {config.url!r}")
    if config.url.startswith("http://") and not config.allow_insecure:
        raise MlciError(
            f"{where}: the webhook url {one_line(config.url, 120)} is plain http: anyone on the way can read "
            "the delivery and send it again, and the receiver cannot tell who it talks to",
            f"use an https:// url; for a receiver on this machine or a network you trust, allow it in "
            f"mlci.yaml:\n    deploy:\n      targets:\n        {name}:\n          allow_insecure: true",
        )
    secret = os.environ.get(config.secret_env, "")
    if not secret:
        raise MlciError(
            f"{where}: the environment variable {config.secret_env} (the webhook's signing key) is empty",
            f"pass it from a secret: env: {config.secret_env}: ${{{{ secrets.{config.secret_env} }}}}",
        )
    return WebhookTarget(config.url, secret.encode(), config.timeout, config.retries)


# --- local: a versioned store with an atomically switched `current` -----------------------------


@dataclass(frozen=True)
class LocalTarget:
    store: Path

    def deliver(self, delivery: Delivery) -> str:
        model_dir = self.store / delivery.name
        final = model_dir / delivery.version
        try:
            model_dir.mkdir(parents=True, exist_ok=True)
            if not _holds(final, delivery.sha256):
                self._stage_version(model_dir, final, delivery)
            switch_current(model_dir, delivery.version)
        except OSError as exc:
            if exc.errno not in _FULL:
                raise
            raise _disk_full(model_dir, delivery) from None
        return str(final)

    @staticmethod
    def _stage_version(model_dir: Path, final: Path, delivery: Delivery) -> None:
        # Build the version folder aside, in a staging folder of this run alone, then rename it in.
        # Several runs may deliver the same version at once: none touches another's staging folder,
        # and whichever renames first wins (the others find the same sha256 in place). A crash leaves
        # only a staging folder, which a later delivery removes once its run is gone.
        _clear_stale_staging(model_dir, delivery.version)
        work = Path(tempfile.mkdtemp(prefix=_staging_prefix(delivery.version), dir=model_dir))
        try:
            dest = work / delivery.artifact.name
            if delivery.artifact.is_dir():
                shutil.copytree(delivery.artifact, dest)
            else:
                shutil.copyfile(delivery.artifact, dest)
            if sha256_of(dest) != delivery.sha256:
                raise MlciError(f"the copy of {delivery.artifact.name} does not match its sha256")
            write_text_atomic(work / CARD_FILE, delivery.card)
            write_text_atomic(work / META_FILE, json.dumps(delivery.metadata(), indent=2) + "\n")
            _readable(work)
            _move_in(work, final, delivery.sha256)
        finally:
            shutil.rmtree(work, ignore_errors=True)  # gone already when it was renamed in


_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _disk_full(model_dir: Path, delivery: Delivery) -> MlciError:
    """The local store's disk is full: an environment error naming the path and the space needed.
    The staging folder is gone and `current` was not switched: the live version is unchanged."""
    artifact = delivery.artifact
    files = [artifact] if artifact.is_file() else [p for p in artifact.rglob("*") if p.is_file()]
    needed = sum(p.stat().st_size for p in files) + len(delivery.card.encode()) + 4096
    top = next((p for p in [model_dir, *model_dir.parents] if p.exists()), Path("/"))
    free = shutil.disk_usage(top).free
    return MlciError(
        f"no space left at the local deploy target {model_dir}: {delivery.name} {delivery.version} needs "
        f"about {needed:,} bytes there, {free:,} are free; nothing was switched, the live version is unchanged",
        "free space on that disk (or point the target's `dir` in mlci.yaml at a larger one), then run the "
        "job again: the rerun delivers this version",
    )


_STAGING = "stage"
_STALE_ELSEWHERE = 24 * 3600.0  # a staging folder of another host (a shared store) this old is debris


def _host() -> str:
    import socket

    return "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:64] or "host"


def _staging_prefix(version: str, pid: int | None = None) -> str:
    """`.VERSION.stage-HOST-PID-` (mkdtemp adds a random tail without '-'): whose folder it is."""
    return f".{version}.{_STAGING}-{_host()}-{os.getpid() if pid is None else pid}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _clear_stale_staging(model_dir: Path, version: str) -> None:
    """Remove staging folders of `version` whose run is gone: on this host, a process that no longer
    exists; another host's (a shared store), after a day; a folder of an older mlci, after an hour."""
    here, now = _host(), time.time()
    for folder in model_dir.glob(f".{version}.*"):
        tail = folder.name[len(version) + 2 :]
        try:
            age = now - folder.lstat().st_mtime
        except FileNotFoundError:  # its run just moved it in or removed it
            continue
        parts = tail.split("-")
        if parts[0] == _STAGING and len(parts) >= 4 and parts[-2].isdigit():
            host, pid = "-".join(parts[1:-2]), int(parts[-2])
            stale = not _alive(pid) if host == here else age > _STALE_ELSEWHERE
        else:
            stale = age > 3600.0
        if stale:
            shutil.rmtree(folder, ignore_errors=True)


def _move_in(work: Path, final: Path, sha256: str) -> None:
    """Rename the staged `work` to `final`; when another run got there first with the same sha256,
    keep theirs. An earlier, different copy under this version is swapped out by renames, never
    deleted in place (a reader sees the old or the new folder, never a half-deleted one)."""
    for _ in range(3):
        try:
            os.rename(work, final)
            return
        except OSError:  # `final` exists and is not empty
            if _holds(final, sha256):
                return
        aside = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        with contextlib.suppress(FileNotFoundError):
            os.replace(final, aside / final.name)
        shutil.rmtree(aside, ignore_errors=True)
    raise MlciError(f"{final} keeps being replaced by another delivery of this version with other bytes")


def _readable(folder: Path) -> None:
    """mkdtemp/mkstemp make owner-only entries; a served model must be readable by its server."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _holds(folder: Path, sha256: str) -> bool:
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("sha256") == sha256


def switch_current(model_dir: Path, version: str) -> None:
    """Point `current` at `version`: a new symlink renamed over the old one (atomic on POSIX)."""
    temp = model_dir / f".current.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    os.symlink(version, temp)
    os.replace(temp, model_dir / "current")


def current_version(store: Path, name: str) -> str | None:
    link = store / name / "current"
    return os.readlink(link) if link.is_symlink() else None


# --- command: the user's own deploy script -----------------------------------------------------


@dataclass(frozen=True)
class CommandTarget:
    run: str
    cwd: Path
    timeout: float = 1800.0  # seconds for the whole command, its children included

    def deliver(self, delivery: Delivery) -> str:
        env = dict(os.environ)
        env.update(
            MLCI_ARTIFACT=str(delivery.artifact),
            MLCI_MODEL=delivery.name,
            MLCI_VERSION=delivery.version,
            MLCI_STAGE=delivery.stage,
            MLCI_COMMIT=delivery.commit,
            MLCI_SHA256=delivery.sha256,
        )
        # stdout goes to the job log as it comes; stderr is kept for the error message. Its own session,
        # so a deadline stops the whole process group (a script's children included), not just the shell
        proc = subprocess.Popen(
            self.run,
            shell=True,
            cwd=self.cwd,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            _, stderr = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            raise DeliveryFailed(
                f"the deploy command did not finish within {self.timeout:g} s and was stopped",
                "make it faster, or give it more time: deploy.targets.<name>.run_timeout (seconds) in mlci.yaml",
            ) from None
        if proc.returncode != 0:
            tail = [one_line(line) for line in stderr.strip().splitlines()[-10:]]
            raise DeliveryFailed(
                f"the deploy command exited with {proc.returncode}"
                + (":\n  " + "\n  ".join(tail) if tail else " (no stderr)"),
                "fix the command in deploy.targets.<name>.run; mlci passes MLCI_ARTIFACT, MLCI_MODEL, "
                "MLCI_VERSION, MLCI_STAGE and MLCI_COMMIT",
            )
        return f"command: {one_line(self.run, 80)}"


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to the command's process group, SIGKILL after 5 s."""
    import signal

    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.communicate(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


# --- webhook: a signed JSON POST ---------------------------------------------------------------


def signed_bytes(timestamp: str, delivery: str, body: bytes) -> bytes:
    """What the signature covers: `<timestamp>.<delivery id>.` then the raw body, so a receiver can
    trust the time and the id it uses to refuse stale and repeated deliveries."""
    return f"{timestamp}.{delivery}.".encode() + body


def sign(secret: bytes, timestamp: str, delivery: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, signed_bytes(timestamp, delivery, body), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    secret: bytes = field(repr=False)
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 1.0  # seconds before the first retry, doubled each time

    def deliver(self, delivery: Delivery) -> str:
        import requests

        from mlci.github.http import send_within

        body = json.dumps({"event": "deploy", **delivery.metadata()}, sort_keys=True).encode()
        # one timestamp and id for all attempts: a receiver that acted on an attempt whose answer was
        # lost sees the retry as the delivery it already handled
        stamp, delivery_id = str(int(time.time())), str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            DELIVERY_HEADER: delivery_id,
            SIGNATURE_HEADER: sign(self.secret, stamp, delivery_id, body),
        }
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                # never follow a redirect: a 301/302 would become a body-less GET that "succeeds"
                # elsewhere, a 307/308 would replay the signed delivery to whatever host it names
                response = send_within(
                    self.timeout,
                    lambda: requests.post(
                        self.url,
                        data=body,
                        headers=headers,
                        timeout=self.timeout,
                        allow_redirects=False,
                        stream=True,
                    ),
                )
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}: {one_line(exc, 160)}"
                continue
            if response.status_code < 300:
                return self.url
            problem = f"HTTP {response.status_code}: {one_line(response.text, 160)}"
            if 300 <= response.status_code < 400:
                where = response.headers.get("Location", "(no Location)")
                problem = f"HTTP {response.status_code}: a redirect to {one_line(where, 160)}, not followed"
            if response.status_code < 500:  # the receiver said no: asking again will not change that
                break
        raise DeliveryFailed(
            f"the webhook {self.url} did not accept the model: {problem}",
            f"the receiver must answer 2xx and verify the {SIGNATURE_HEADER} header over "
            f"'<{TIMESTAMP_HEADER}>.<{DELIVERY_HEADER}>.<body>' (docs/deploy.md)",
        )
