"""The npm packages the suite runs, installed under the venv on the first run (the README's test command).

Azurite (the Azure Storage emulator the Azure remote tests run against) and @octokit/openapi (GitHub's REST
description, which the fake GitHub is checked against) come from the npm registry at pinned versions, into
`<venv>/node`: `storage.py` and `openapi.py` look for them there. The controller installs them once before
any worker starts; a machine without npm skips the tests that need them, saying why."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGES = ("azurite@3.37.0", "@octokit/openapi@23.0.2")
PREFIX = Path(sys.prefix) / "node"
_MARKER = PREFIX / ".mlci-node-tools"


def ensure_installed(prefix: Path = PREFIX) -> str | None:
    """Install PACKAGES under `prefix` unless the marker says they already are.

    Returns None when they are there, else why not (no npm, or npm's error), for the terminal summary.
    MLCI_NO_NODE_INSTALL=1 turns the install off (the tests that need them then skip or name what is missing)."""
    marker = prefix / _MARKER.name
    wanted = "\n".join(PACKAGES) + "\n"
    if marker.is_file() and marker.read_text() == wanted:
        return None
    if os.environ.get("MLCI_NO_NODE_INSTALL") == "1":
        return "MLCI_NO_NODE_INSTALL=1: the npm packages were not installed"
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed: the Azure tests and the GitHub contract checks need its packages"
    command = [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix), *PACKAGES]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        return f"`npm install` of {' '.join(PACKAGES)} failed: {done.stderr.strip()[-400:]}"
    marker.write_text(wanted)
    return None
