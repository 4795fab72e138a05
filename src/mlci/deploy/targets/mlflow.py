"""`type: mlflow`: the MLflow Model Registry as a mirror of the git registry.

`deliver` makes the exact delivered bytes a model version of the registered model (uploaded through the
server's proxied artifact store into a run of `experiment` that logs the commit's DVC metrics), tagged
`mlci.version`, `mlci.commit`, `mlci.sha256`, `mlci.repository` and `mlci.run_url`. A model version with
the same version and sha256 is found again by its tags, so a re-run (or a rollback) uploads nothing.
`activate`, once the stage tag is pushed, moves the stage's alias (`prod` → `champion` by default) to
that version: serving that reads `models:/NAME@champion` switches only then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlci.config import ConfigError
from mlci.deploy.targets.base import Delivery, DeliveryFailed
from mlci.errors import MlciError
from mlci.mlflow.client import MlflowClient, MlflowError, NotFound
from mlci.mlflow.names import alias_problem, name_problem
from mlci.safety import one_line

TAG = "mlci."  # the prefix of the tags mlci sets on model versions and runs
MAX_DESCRIPTION = 5000  # the model card as the version's description, cut to this many characters


def _default_aliases() -> dict[str, str]:
    return {"prod": "champion"}


@dataclass(frozen=True)
class MlflowRegistryConfig:
    """`deploy.targets.<name>` of `type: mlflow`."""

    tracking_uri: str = ""  # http(s) URL of the server; default: MLFLOW_TRACKING_URI
    experiment: str = "mlci-deployments"  # the experiment holding one run per delivered version
    registered_models: dict[str, str] = field(
        default_factory=dict
    )  # mlci model → MLflow name (default: same)
    aliases: dict[str, str] = field(
        default_factory=_default_aliases
    )  # stage → alias; others: the stage's name
    timeout: float = 30.0  # seconds per call, answer included (an upload too)

    def __post_init__(self) -> None:
        for model, registered in self.registered_models.items():
            if problem := name_problem(registered):
                raise ConfigError(
                    f"deploy target: registered_models.{model} = {registered!r} is not a name MLflow accepts: {problem}",
                    "use letters, digits, '-', '_' and '.'; no '/' or ':'",
                )
        for stage, alias in self.aliases.items():
            if problem := alias_problem(alias):
                raise ConfigError(
                    f"deploy target: aliases.{stage} = {alias!r} is not an alias MLflow accepts: {problem}",
                    "use letters, digits, '_' and '-', e.g. champion or challenger",
                )

    def open(self, name: str, root: Path) -> MlflowTarget:
        from mlci.mlflow.client import tracking_uri

        uri = tracking_uri(self.tracking_uri, f"deploy.targets.{name}")
        return MlflowTarget(MlflowClient(uri, timeout=self.timeout), self.experiment, self, name)

    def registered(self, model: str) -> str:
        """The MLflow registered model of mlci's `model`; MlciError (exit 2) when MLflow would refuse it."""
        registered = self.registered_models.get(model, model)
        if problem := name_problem(registered):
            raise MlciError(
                f"the model name {registered!r} cannot be an MLflow registered model name: {problem}",
                f"map it to one MLflow accepts:  registered_models: {{{model}: {re.sub(r'[/:]', '-', model)}}}",
            )
        return registered

    def alias(self, stage: str) -> str:
        """The alias that stands for `stage`; MlciError (exit 2) when MLflow would refuse it."""
        alias = self.aliases.get(stage, stage)
        if problem := alias_problem(alias):
            raise MlciError(
                f"stage '{stage}' has no alias MLflow accepts ({alias!r}: {problem})",
                f"name one under the target's `aliases`:  aliases: {{{stage}: my-alias}}",
            )
        return alias


@dataclass(frozen=True)
class MlflowTarget:
    client: MlflowClient
    experiment: str
    config: MlflowRegistryConfig
    name: str  # the target's name in mlci.yaml
    splits_traffic: bool = False  # an alias names one version: no canary

    def check(self, models: list[str], stage: str) -> None:
        """Before anything is written: every model's registered name and the stage's alias are valid,
        and the server answers and takes the credentials (exit 2 naming it otherwise)."""
        for model in models:
            self.config.registered(model)
        self.config.alias(stage)
        self.client.get("registered-models/search", {"max_results": 1})

    def deliver(self, delivery: Delivery) -> str:
        registered = self.config.registered(delivery.name)
        self.config.alias(delivery.stage)
        found = self.find(registered, delivery.version)
        if found is not None:
            if found.get("sha256") != delivery.sha256:
                raise DeliveryFailed(
                    f"MLflow model {registered} already has a version tagged {TAG}version={delivery.version} "
                    f"with other bytes (sha256 {one_line(found.get('sha256'), 80)}, this delivery {delivery.sha256})",
                    "someone registered other bytes under this version: delete that model version in MLflow, "
                    "then run the deploy again",
                )
            return self._page(registered, str(found["version"]))
        version = self._register(registered, delivery)
        return self._page(registered, version)

    def activate(self, delivery: Delivery) -> None:
        """Move the stage's alias to the delivered version (a rollback moves it back the same way)."""
        registered, alias = self.config.registered(delivery.name), self.config.alias(delivery.stage)
        found = self.find(registered, delivery.version)
        if found is None:
            raise MlciError(
                f"MLflow model {registered} has no version tagged {TAG}version={delivery.version} to point "
                f"'{alias}' at",
                "run the deploy again: it delivers the version, then moves the alias",
            )
        body = {"name": registered, "alias": alias, "version": str(found["version"])}
        self.client.post("registered-models/alias", body)

    def find(self, registered: str, version: str) -> dict[str, Any] | None:
        """The model version tagged with mlci's `version`: {"version", "sha256", "commit"}, or None."""
        query = f"name='{_quoted(registered)}' and tag.`{TAG}version` = '{_quoted(version)}'"
        answer = self.client.get("model-versions/search", {"filter": query, "max_results": 10})
        versions = [v for v in answer.get("model_versions", []) if isinstance(v, dict)]
        if not versions:
            return None
        newest = max(versions, key=lambda v: int(v.get("version", 0)))
        tags = {t.get("key"): t.get("value") for t in newest.get("tags", []) if isinstance(t, dict)}
        return {
            "version": newest["version"],
            "sha256": tags.get(f"{TAG}sha256"),
            "commit": tags.get(f"{TAG}commit"),
        }

    def alias_version(self, model: str, stage: str) -> tuple[str, str] | None:
        """(the alias, mlci's version the stage's alias points at: its `mlci.version` tag, else
        `MLflow version N`); None when MLflow has no such alias (or no such model)."""
        registered, alias = self.config.registered(model), self.config.alias(stage)
        try:
            answer = self.client.get("registered-models/alias", {"name": registered, "alias": alias})
        except NotFound:
            return None
        held = answer.get("model_version", {})
        tags = {t.get("key"): t.get("value") for t in held.get("tags", []) if isinstance(t, dict)}
        return alias, str(tags.get(f"{TAG}version") or f"MLflow version {held.get('version')}")

    def _register(self, registered: str, delivery: Delivery) -> str:
        from mlci.mlflow.registry import log_delivery_run

        self._ensure_model(registered)
        run_tags = {f"{TAG}{key}": value for key, value in _tags(delivery).items()}
        run_tags |= {
            "mlflow.source.git.commit": delivery.commit,
            "mlflow.runName": f"{registered} {delivery.version}",
        }
        run_id, source = log_delivery_run(
            self.client, self.experiment, run_tags, delivery.metrics, delivery.artifact
        )
        tags = [{"key": f"{TAG}{key}", "value": value} for key, value in _tags(delivery).items()]
        body = {
            "name": registered,
            "source": source,
            "run_id": run_id,
            "tags": tags,
            "description": delivery.card[:MAX_DESCRIPTION],
        }
        # not retried blindly: a lost answer would make a second version (the re-run finds the first)
        created = self.client.post("model-versions/create", body, retry=False)
        return str(created.get("model_version", {}).get("version", ""))

    def _ensure_model(self, registered: str) -> None:
        try:
            self.client.get("registered-models/get", {"name": registered})
        except NotFound:
            try:
                self.client.post("registered-models/create", {"name": registered})
            except MlflowError as exc:
                if exc.code != "RESOURCE_ALREADY_EXISTS":  # another run made it meanwhile
                    raise

    def _page(self, registered: str, version: str) -> str:
        from urllib.parse import quote

        return f"{self.client.uri}/#/models/{quote(registered, safe='')}/versions/{version}"


def _tags(delivery: Delivery) -> dict[str, str]:
    tags = {
        "version": delivery.version,
        "commit": delivery.commit,
        "sha256": delivery.sha256,
    }
    for key in ("repository", "run_url"):
        if delivery.extra.get(key):
            tags[key] = str(delivery.extra[key])
    return tags


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
