"""`type: command`: the user's own deploy script, run with the model's path and names in its environment."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlci.deploy.targets.base import Delivery, DeliveryFailed, Target
from mlci.errors import MlciError
from mlci.safety import one_line


@dataclass(frozen=True)
class CommandConfig:
    """`deploy.targets.<name>` of `type: command`."""

    run: str = ""  # a shell command, run in the repository root
    run_timeout: float = 1800.0  # seconds before the command and its children are stopped

    def open(self, name: str, root: Path) -> Target:
        if not self.run.strip():
            raise MlciError(
                f"deploy.targets.{name}: a command target needs `run`", "e.g. run: ./scripts/ship.sh"
            )
        return CommandTarget(self.run, root, self.run_timeout)


@dataclass(frozen=True)
class CommandTarget:
    run: str
    cwd: Path
    timeout: float = 1800.0  # seconds for the whole command, its children included
    splits_traffic: bool = True  # MLCI_TRAFFIC says the canary step's percent

    def deliver(self, delivery: Delivery) -> str:
        env = {**os.environ, **delivery.environ()}
        # stdout goes to the job log as it comes; stderr is kept for the error message. Its own session,
        # so a deadline stops the whole process group (a script's children included), not just the shell
        proc = subprocess.Popen(
            self.run,
            shell=True,
            cwd=self.cwd,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
        try:
            _, stderr = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            stop_group(proc)
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
                "MLCI_VERSION, MLCI_STAGE, MLCI_COMMIT, MLCI_SHA256 and MLCI_TRAFFIC",
            )
        return f"command: {one_line(self.run, 80)}"

    def activate(self, delivery: Delivery) -> None:
        """Nothing to switch: the command did all it does."""


def stop_group(proc: subprocess.Popen[str]) -> None:
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
