"""Running the DVC command line as a user would, with this interpreter's tools first on PATH.

Production code (train, remotes) and the bundled example share this one runner.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ENV = "MLCI_PROJECT_ENV"  # set by the install step of jobs that run the project's code


def project_python(project: str) -> Path:
    """The Python of the project environment `project` (a folder); MlciError when it has none."""
    bindir = Path(project) / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    if not python.exists():
        from mlci.errors import MlciError

        raise MlciError(
            f"{PROJECT_ENV}={project} is not a Python environment (no {bindir.name}/python in it)",
            f"point {PROJECT_ENV} at the project's virtual environment, or unset it to run the "
            "stages with mlci's own Python",
        )
    return python


def tool_env() -> dict[str, str]:
    """The environment for DVC stages: the project's environment first on PATH (and its VIRTUAL_ENV)
    when `MLCI_PROJECT_ENV` names one (docs/architecture.md, "Two environments"), else this interpreter's
    `python`; Python's streams in UTF-8 (what mlci decodes their output as), whatever the console's
    encoding. DVC itself always runs from this interpreter (`dvc_command`).

    Raises MlciError when MLCI_PROJECT_ENV is set but holds no Python environment."""
    env = dict(os.environ)
    env["PYTHONIOENCODING"] = "utf-8"
    project = env.get(PROJECT_ENV, "")
    if project:
        bindir = project_python(project).parent
        env["VIRTUAL_ENV"] = project
    else:
        bindir = Path(sys.executable).parent
    env["PATH"] = str(bindir) + os.pathsep + env.get("PATH", "")
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
