"""Deploy targets: one module per `type`, one Protocol (`base.Target`), one name→config table.

Adding a target type is one new module here (a frozen config dataclass whose `open` returns a
`Target`) plus one row in `TYPES`; docs/deploy.md and docs/config.md describe it
(tests/deploy/test_target_family.py checks that they do).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlci.config import CONFIG_FILE, ConfigError, DeployConfig, build_section
from mlci.deploy.targets.base import Delivery, DeliveryFailed, Target, TargetConfig, sha256_of
from mlci.deploy.targets.command import CommandConfig, CommandTarget
from mlci.deploy.targets.local import LocalConfig, LocalTarget, current_version, switch_current
from mlci.deploy.targets.mlflow import MlflowRegistryConfig, MlflowTarget
from mlci.deploy.targets.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookConfig,
    WebhookTarget,
    sign,
    signed_bytes,
)
from mlci.errors import MlciError

# `type:` in mlci.yaml → that type's config schema; the first is the default type
TYPES: dict[str, type[TargetConfig]] = {
    "local": LocalConfig,
    "command": CommandConfig,
    "webhook": WebhookConfig,
    "mlflow": MlflowRegistryConfig,
}

__all__ = [
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TYPES",
    "CommandTarget",
    "Delivery",
    "DeliveryFailed",
    "LocalTarget",
    "MlflowRegistryConfig",
    "MlflowTarget",
    "Target",
    "TargetConfig",
    "WebhookTarget",
    "current_version",
    "open_target",
    "parse_target",
    "sha256_of",
    "sign",
    "signed_bytes",
    "switch_current",
    "target_configs",
]


def parse_target(name: str, raw: Mapping[str, Any], filename: str = CONFIG_FILE) -> TargetConfig:
    """`deploy.targets.<name>` (a mapping from mlci.yaml) → its type's config.

    Raises ConfigError (exit 2) for an unknown `type`, a key that type does not have, or a wrong value.
    """
    where = f"deploy.targets.{name}"
    kind = raw.get("type", next(iter(TYPES)))
    if not isinstance(kind, str) or kind not in TYPES:
        choices = ", ".join(repr(k) for k in TYPES)
        raise ConfigError(f"{filename}: '{where}.type' must be one of {choices}, got {kind!r}")
    options = {key: value for key, value in raw.items() if key != "type"}
    _refuse_foreign_keys(kind, options, filename, where)
    config: TargetConfig = build_section(TYPES[kind], options, filename, where)
    return config


def _keys(kind: str) -> list[str]:
    return [f.name for f in dataclasses.fields(TYPES[kind])]  # type: ignore[arg-type]


def _refuse_foreign_keys(kind: str, options: Mapping[str, Any], filename: str, where: str) -> None:
    """A key of another type (a `url` on a command target) says whose it is."""
    own = _keys(kind)
    for key in options:
        owners = [other for other in TYPES if other != kind and key in _keys(other)]
        if key not in own and owners:
            raise ConfigError(
                f"{filename}: '{where}.{key}' is a key of a {' or '.join(owners)} target, not of a {kind} target",
                f"set `type: {owners[0]}`, or use the keys of a {kind} target: {', '.join(own)}",
            )


def target_configs(deploy: DeployConfig, filename: str = CONFIG_FILE) -> dict[str, TargetConfig]:
    """The user's targets, each parsed by its type; `local` is always there unless they define their own."""
    raw: dict[str, Mapping[str, Any]] = {"local": {}, **deploy.targets}
    return {name: parse_target(name, section, filename) for name, section in raw.items()}


def open_target(deploy: DeployConfig, name: str, root: Path, filename: str = CONFIG_FILE) -> Target:
    """The target `name` of `deploy.targets`, opened; every configured target is checked on the way.

    Raises MlciError (exit 2) for an unknown name or a section its type refuses.
    """
    configs = target_configs(deploy, filename)
    if name not in configs:
        raise MlciError(
            f"deploy target '{name}' is not configured",
            f"known targets: {', '.join(sorted(configs))}; add it under deploy.targets in mlci.yaml",
        )
    return configs[name].open(name, root)
