"""What every deploy target shares: the delivery it gets, the Protocol it implements, how it fails.

A target has two phases. `deliver` ships the model before the stage tag is pushed (a failure there
leaves the stage where it was); `activate` runs after the stage tag is pushed (for a target whose
registry has its own pointer, e.g. an MLflow alias). What is the same for every target is not target
code: checks after delivery and rollback (which re-delivers an older version through the same target)
belong to the deploy command.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlci.errors import GateFailed


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
    traffic: int = 100  # percent of the stage's requests this version should get (a canary step: less)
    metrics: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict
    )  # the commit's DVC metrics: file → key → value

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "stage": self.stage,
            "commit": self.commit,
            "artifact": self.artifact.name,
            "sha256": self.sha256,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "traffic": self.traffic,
            **self.extra,
        }

    def environ(self) -> dict[str, str]:
        """The `MLCI_*` variables a command target and a command check get (docs/deploy.md)."""
        return {
            "MLCI_ARTIFACT": str(self.artifact),
            "MLCI_MODEL": self.name,
            "MLCI_VERSION": self.version,
            "MLCI_STAGE": self.stage,
            "MLCI_COMMIT": self.commit,
            "MLCI_SHA256": self.sha256,
            "MLCI_TRAFFIC": str(self.traffic),
        }


class Target(Protocol):
    """An opened target, ready to take deliveries. `splits_traffic`: it honours `Delivery.traffic`
    (a canary step); a target that cannot is refused for a stage with `traffic` steps."""

    @property
    def splits_traffic(self) -> bool: ...

    def deliver(self, delivery: Delivery) -> str:
        """Ship the model; return where it went (a path or URL) for the deployment record.

        Raises DeliveryFailed (exit 1) when the target refuses it, MlciError (exit 2) for what the user can fix.
        """
        ...

    def activate(self, delivery: Delivery) -> None:
        """Called once the stage tag of `delivery` is pushed; a target with nothing to switch does nothing."""
        ...


class TargetConfig(Protocol):
    """One target type's section of `deploy.targets.<name>` in mlci.yaml: a frozen dataclass whose fields
    are the keys that type accepts (its schema); `open` checks what the schema cannot and opens it."""

    def open(self, name: str, root: Path) -> Target:
        """The target named `name` (for messages), paths relative to the repository `root`.

        Raises MlciError (exit 2) naming `deploy.targets.<name>` when the section cannot work.
        """
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
