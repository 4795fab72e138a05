"""Running the DVC command line as a user would, with this interpreter's tools first on PATH.

Production code (train, remotes) and the bundled example share this one runner.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def tool_env() -> dict[str, str]:
    """The environment for DVC and its stages: this interpreter's `python` first on PATH, and Python's
    streams in UTF-8 (what mlci decodes their output as), whatever the console's encoding."""
    env = dict(os.environ)
    env["PYTHONIOENCODING"] = "utf-8"
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    return env


def dvc(root: Path, *args: str) -> str:
    """Run `dvc ARGS` in `root` and return its stdout.

    Raises RuntimeError with DVC's stdout and stderr when it exits non-zero.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=root,
        env=tool_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dvc {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout
