"""The workflow in docs/retrain.md is one users copy: it must pass the same checks as ours."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.testing.fixtures import ROOT

BIN = Path(sys.executable).parent


def _workflow() -> str:
    text = (ROOT / "docs" / "retrain.md").read_text()
    [block] = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    return str(block)


@pytest.mark.parametrize(
    "check",
    [["zizmor", "--offline"], ["check-jsonschema", "--builtin-schema", "vendor.github-workflows"]],
    ids=["zizmor", "schema"],
)
def test_the_documented_monitor_workflow_passes_the_workflow_checks(tmp_path: Path, check: list[str]) -> None:
    tool = BIN / check[0]
    if not tool.exists():
        pytest.skip(f"{check[0]} is not installed next to this Python")
    path = tmp_path / ".github" / "workflows" / "monitor.yml"
    path.parent.mkdir(parents=True)
    path.write_text(_workflow())

    proc = subprocess.run([str(tool), *check[1:], str(path)], capture_output=True, text=True, check=False)

    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_documented_workflow_installs_a_pinned_mlci() -> None:
    """An unpinned install would run whatever mlci is newest on the next schedule."""
    [line] = [ln for ln in _workflow().splitlines() if "pip install" in ln]
    assert re.search(r"mlci@[0-9A-Za-z]+\"|mlci==\d", line), line
