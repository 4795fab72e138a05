"""The deploy-target family: the `TYPES` table, the modules, the config schema and the docs agree."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

import mlci.deploy.targets as targets
from mlci.config import ConfigError, DeployConfig, parse_config
from mlci.deploy.targets import TYPES, open_target, parse_target, target_configs
from tests.testing.fixtures import ExampleRepo, run_cli

DOCS = Path(__file__).resolve().parents[2] / "docs"
PACKAGE = Path(targets.__file__).parent


def test_every_type_is_one_module_and_every_module_one_type() -> None:
    members = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "base"}
    assert members == set(TYPES)
    for kind, config in TYPES.items():
        assert config.__module__ == f"mlci.deploy.targets.{kind}"
        assert dataclasses.is_dataclass(config) and config.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_docs_deploy_describes_every_type() -> None:
    text = (DOCS / "deploy.md").read_text(encoding="utf-8")
    described = set(re.findall(r"^\* \*\*(\w+)\*\* —", text, flags=re.M))
    assert described == set(TYPES)
    for kind in TYPES:
        assert f"type: {kind}" in text, f"docs/deploy.md's example config has no `type: {kind}` target"


def _target_table() -> dict[str, list[str]]:
    """docs/config.md's "Each target" table: key → its cells (key, type, default, meaning)."""
    text = (DOCS / "config.md").read_text(encoding="utf-8")
    table = text.split("Each target:", 1)[1].split("\n\n", 2)[1]
    rows = [line.split("|") for line in table.splitlines()[2:]]
    return {cells[1].strip().strip("`"): cells[1:-1] for cells in rows}


def test_docs_config_lists_each_key_under_the_types_that_have_it() -> None:
    table = _target_table()
    owners: dict[str, set[str]] = {}
    for kind, config in TYPES.items():
        for field in dataclasses.fields(config):  # type: ignore[arg-type]
            owners.setdefault(field.name, set()).add(kind)
    assert set(table) == {"type", *owners}
    assert set(re.findall(r"`(\w+)`", table["type"][1])) >= set(TYPES)
    for key, kinds in owners.items():
        named = set(re.findall(r"`(\w+)`:", table[key][3]))
        assert named == kinds, (
            f"docs/config.md: `{key}` belongs to {sorted(kinds)}, the table says {sorted(named)}"
        )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"type": "ftp"},
            "'deploy.targets.t.type' must be one of 'local', 'command', 'webhook', 'mlflow', got 'ftp'",
        ),
        (
            {"type": ["local"]},
            "'deploy.targets.t.type' must be one of 'local', 'command', 'webhook', 'mlflow', got ['local']",
        ),
        (
            {"type": "command", "url": "https://x"},
            "'deploy.targets.t.url' is a key of a webhook target, not of a command target",
        ),
        (
            {"type": "local", "run": "true"},
            "'deploy.targets.t.run' is a key of a command target, not of a local target",
        ),
        ({"type": "webhook", "retries": "many"}, "'deploy.targets.t.retries' must be a whole number"),
        ({"type": "command", "run_timeout": True}, "'deploy.targets.t.run_timeout' must be a number"),
        ({"type": "local", "shape": 1}, "unknown key 'deploy.targets.t.shape'"),
        ({"dri": "x"}, "unknown key 'deploy.targets.t.dri', did you mean 'dir'?"),
    ],
)
def test_each_type_validates_its_own_keys(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_target("t", section)
    assert message in str(refused.value)
    assert refused.value.exit_code == 2


def test_a_section_without_a_type_is_the_first_type_of_the_table() -> None:
    assert type(parse_target("t", {})) is next(iter(TYPES.values()))


def test_a_broken_target_stops_a_deploy_to_another_before_anything_is_written(tmp_path: Path) -> None:
    config = parse_config({"deploy": {"targets": {"local": {}, "hook": {"type": "webhook", "tiemout": 3}}}})
    with pytest.raises(
        ConfigError, match=r"unknown key 'deploy\.targets\.hook\.tiemout', did you mean 'timeout'"
    ):
        open_target(config.deploy, "local", tmp_path)
    assert not (tmp_path / ".mlci").exists()


def test_the_default_deploy_config_opens_the_local_store(tmp_path: Path) -> None:
    assert sorted(target_configs(DeployConfig())) == ["local"]
    opened = open_target(DeployConfig(), "local", tmp_path)
    assert callable(opened.deliver) and callable(opened.activate)


@pytest.mark.slow
def test_deploy_with_a_key_of_another_type_exits_2_before_any_tag(example_repo: ExampleRepo) -> None:
    config = yaml.safe_load((example_repo.root / "mlci.yaml").read_text())
    config["deploy"] = {
        "targets": {"ship": {"type": "command", "run": "true", "url": "https://models.example.com"}}
    }
    example_repo.write("mlci.yaml", yaml.safe_dump(config))
    example_repo.commit("A command target with a webhook's key")

    proc = run_cli("deploy", cwd=example_repo.root)

    assert proc.returncode == 2, proc.stderr
    assert "'deploy.targets.ship.url' is a key of a webhook target, not of a command target" in proc.stderr
    assert example_repo.git("tag") == ""
    assert not (example_repo.root / ".mlci" / "deployments").exists()
