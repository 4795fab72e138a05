"""The check after a delivery: a command or an HTTP probe, tried until it passes, its tries run out or
its deadline passes. The same for every target; `commands/deploy.py` decides what a failure does.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.config import Bound, CheckConfig
from mlci.safety import one_line

TAIL = 10  # lines of a check command's output kept for the report


@dataclass(frozen=True)
class CheckResult:
    """`passed`, what the last try said (`output`, a few lines) and how many tries ran."""

    passed: bool
    output: str
    tries: int

    def summary(self) -> str:
        word = "passed" if self.passed else "failed"
        return f"check {word} after {self.tries} {'try' if self.tries == 1 else 'tries'}: {self.output}"


def run_check(
    check: CheckConfig, env: Mapping[str, str], cwd: Path, sleep: Callable[[float], None] = time.sleep
) -> CheckResult:
    """Wait `settle` s, then try up to `tries` times `interval` s apart, all within `deadline` s
    (a try gets the least of `timeout` and the time left, and is stopped when it runs past it)."""
    end = time.monotonic() + check.deadline
    sleep(min(check.settle, check.deadline))
    output, tried = "not tried: the settle time used the whole deadline", 0
    for attempt in range(check.tries):
        left = end - time.monotonic()
        if left <= 0:
            return CheckResult(False, f"deadline of {check.deadline:g} s passed; last: {output}", tried)
        if attempt:
            sleep(min(check.interval, left))
            left = end - time.monotonic()
        budget = max(min(check.timeout, left), 0.001)
        tried += 1
        passed, output = _try_command(check.run, env, cwd, budget) if check.run else _probe(check, budget)
        if passed:
            return CheckResult(True, output, tried)
    return CheckResult(False, output, tried)


def _try_command(run: str, env: Mapping[str, str], cwd: Path, budget: float) -> tuple[bool, str]:
    """One run of the check command in its own session (a deadline stops its children too)."""
    from mlci.deploy.targets.command import stop_group

    proc = subprocess.Popen(
        run,
        shell=True,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        stop_group(proc)
        return False, f"the check command did not finish within {budget:.1f} s and was stopped"
    tail = " / ".join(one_line(line, 200) for line in out.strip().splitlines()[-TAIL:])
    if proc.returncode == 0:
        return True, tail or "the check command exited with 0"
    return False, f"the check command exited with {proc.returncode}" + (f": {tail}" if tail else "")


def _probe(check: CheckConfig, budget: float) -> tuple[bool, str]:
    """One GET of `check.url`: the expected status, then each JSON field within its bounds."""
    import requests

    from mlci.github.http import send_within

    try:
        response = send_within(
            budget,
            lambda: requests.get(check.url, timeout=budget, allow_redirects=False, stream=True),
        )
    except Exception as exc:  # a refused connection, a deadline, a reset: a failed try
        return False, f"GET {one_line(check.url, 120)}: {type(exc).__name__}: {one_line(exc, 160)}"
    if response.status_code != check.status:
        text = one_line(response.text, 160)
        return (
            False,
            f"GET {one_line(check.url, 120)} answered {response.status_code}, not {check.status}: {text}",
        )
    if not check.json:
        return True, f"GET {one_line(check.url, 120)} answered {response.status_code}"
    try:
        answer = response.json()
    except ValueError:
        return False, f"GET {one_line(check.url, 120)} did not answer JSON: {one_line(response.text, 160)}"
    problems, seen = [], []
    for path, bound in check.json.items():
        value, problem = _field(answer, path, bound)
        seen.append(f"{path}={value}")
        if problem:
            problems.append(problem)
    if problems:
        return False, "; ".join(problems)
    return True, ", ".join(seen)


def _field(answer: Any, path: str, bound: Bound) -> tuple[str, str]:
    """(the value as text, a problem or "") for the dotted `path` in the JSON `answer`."""
    value = answer
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return "missing", f"{path} is not in the answer"
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return one_line(value, 40), f"{path} is {one_line(value, 40)!r}, not a number"
    if bound.min is not None and value < bound.min:
        return f"{value:g}", f"{path} = {value:g} < min {bound.min:g}"
    if bound.max is not None and value > bound.max:
        return f"{value:g}", f"{path} = {value:g} > max {bound.max:g}"
    return f"{value:g}", ""
