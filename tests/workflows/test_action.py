"""The composite action: every input reaches the CLI, every output is one a command sets."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.testing.fixtures import ROOT
from tests.testing.scenario import documented_workflow

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
SOURCES = {path: path.read_text() for path in (ROOT / "src" / "mlci").rglob("*.py")}


def test_every_input_is_used_by_a_step() -> None:
    steps = yaml.safe_dump(ACTION["runs"]["steps"])
    unused = [name for name in ACTION["inputs"] if f"inputs.{name}" not in steps]
    assert unused == []


def test_inputs_reach_shell_steps_only_through_env() -> None:
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")


def test_every_output_is_set_by_a_command() -> None:
    setters = [text for text in SOURCES.values() if "set_output" in text]
    missing = []
    for name, output in ACTION["outputs"].items():
        step = re.search(r"steps\.(\w+)\.outputs\.([\w-]+)", output["value"])
        assert step and step.group(2) == name
        if step.group(1) == "run" and not any(f'"{name}"' in text for text in setters):
            missing.append(name)
    assert missing == []


def test_actions_in_the_action_are_pinned_by_sha() -> None:
    for step in ACTION["runs"]["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w.-]+)*@[0-9a-f]{40}", step["uses"]), step["uses"]


def test_docs_list_every_input_and_output() -> None:
    doc = (Path(ROOT) / "docs" / "action.md").read_text()
    missing = [name for name in [*ACTION["inputs"], *ACTION["outputs"]] if f"`{name}`" not in doc]
    assert missing == []


def test_the_documented_workflow_is_what_the_scenarios_run() -> None:
    """The doc's example parses, pins nothing but the action placeholder, and names one job per event."""
    workflow = yaml.safe_load(documented_workflow("0" * 40))
    assert set(workflow["jobs"]) == {"report", "push", "monitor"}
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        assert job["permissions"] and job["timeout-minutes"]
        assert [s["with"]["command"] for s in job["steps"] if "mlci-dev/mlci@" in s["uses"]] == ["auto"]
