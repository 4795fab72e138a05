"""Benchmark: where a job's wall time goes — set-up, installing mlci, mlci's own work.

    python bench/bench_jobs.py [--scenario report] [--scenario train] [--scenario all] [--keep DIR]

Runs workflow scenarios of tests/workflows/ (the real workflow files on the Actions runner harness,
../shared/tools/actions-runner, against the example project), one at a time: the callers `mlci init`
writes (test_scenarios.py: report, train, fork, deploy, monitor, dogfood) and the composite action in
docs/action.md's workflow (test_action_scenarios.py: action-*). `report` runs the report
workflow twice in one test, so the first run starts with an empty uv cache (cold) and the second restores
it (warm); `train` runs affected → data → train once (the first job cold, later jobs with the same key
warm). From act's step timings and each job's `mlci install:` line it prints, per job: wall time, the
install steps (cache key, restore, install, save), set-up (checkout, setup-python, artifacts, other
caches) and the job's own work (mlci and the project's pipeline). `--keep DIR --table-only` prints the
table again from a previous run's timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider"]
CALLERS = "tests/workflows/test_scenarios.py"
ACTION = "tests/workflows/test_action_scenarios.py"
TESTS = {  # scenario name -> (test module, pytest -k expression)
    "report": (CALLERS, "report_posts_one_sticky"),
    "train": (CALLERS, "push_trains_the_changed_model"),
    "fork": (CALLERS, "fork_pull_request"),
    "deploy": (CALLERS, "push_to_main_deploys_with_one_deployment_and_a_dispatch"),
    "monitor": (CALLERS, "scheduled_monitor"),
    "dogfood": (CALLERS, "dogfood"),
    "action-report": (ACTION, "action_pull_request_reports"),
    "action-train": (ACTION, "action_push_to_a_branch_trains"),
    "action-deploy": (ACTION, "action_push_to_main_deploys"),
    "action-monitor": (ACTION, "action_schedule_and_dispatch_monitor"),
    "action-no-current": (ACTION, "monitor_has_no_current_data"),
}


def summarise(record: dict[str, object]) -> list[dict[str, object]]:
    """One row per job: its steps' seconds split into install, mlci and the rest. A job is act's
    `[workflow/job]` prefix, read from the job's `mlci install:` line (step names may hold slashes)."""
    steps: dict[str, float] = record["steps"]  # type: ignore[assignment]
    lines: list[str] = record["install"]  # type: ignore[assignment]
    jobs = {line[1 : line.index("]")]: line.split("mlci install: ", 1)[1] for line in lines}
    rows = []
    for job, said in jobs.items():
        parts: dict[str, float] = defaultdict(float)
        for key, seconds in steps.items():
            if not key.startswith(job + "/"):
                continue
            step = key[len(job) + 1 :]
            part = "work"  # the job's own steps: mlci and the project's pipeline
            if step.startswith(("Install mlci", "Post Install mlci")):
                part = "install"
            elif "@" in step or step.startswith(
                ("Pre ", "Post ", "Set up job", "Complete job", "Set up Python")
            ):
                part = "setup"  # checkout, setup-python (the action's too), artifacts, other caches
            parts[part] += seconds
            parts["steps"] += seconds
        rows.append({"job": job.rsplit("/", 1)[-1], **parts, "install_line": said})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scenario", action="append", choices=[*TESTS, "all"], help="repeatable; default: report"
    )
    parser.add_argument("--keep", type=Path, help="a folder for the timings and the runs' whole logs")
    parser.add_argument("--table-only", action="store_true", help="only print the table of --keep's timings")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mlci-bench-jobs-"))
    folder.mkdir(parents=True, exist_ok=True)
    timings = folder / "timings.jsonl"
    if not args.table_only:
        timings.unlink(missing_ok=True)
    chosen = args.scenario or ["report"]
    names = list(TESTS) if "all" in chosen else list(dict.fromkeys(chosen))
    for name in [] if args.table_only else names:
        module, expression = TESTS[name]
        start = len(timings.read_text().splitlines()) if timings.exists() else 0
        proc = subprocess.run(
            [*PYTEST, module, "-k", expression],
            cwd=ROOT,
            env={**os.environ, "MLCI_WORKFLOW_TIMINGS": str(timings), "PYTHONPATH": str(ROOT / "src")},
            capture_output=True,
            text=True,
            check=False,
        )
        print(f"scenario {name}: pytest exit {proc.returncode}", file=sys.stderr)
        if proc.returncode != 0:
            print(proc.stdout[-4000:], file=sys.stderr)
        if timings.exists():  # name this scenario's runs, for the table
            lines = timings.read_text().splitlines()
            named = [json.dumps({"scenario": name, **json.loads(line)}) for line in lines[start:]]
            timings.write_text("\n".join([*lines[:start], *named, ""]))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"logs: {folder}\n")
    print(
        "| scenario | workflow run | job | steps (s) | set-up (s) | install (s) | mlci and pipeline (s) "
        "| install line |"
    )
    print("|---|---|---|---:|---:|---:|---:|---|")
    runs = [json.loads(line) for line in timings.read_text().splitlines()] if timings.exists() else []
    for index, record in enumerate(runs, 1):
        for row in summarise(record):
            print(
                f"| {record.get('scenario', '')} | {index}. {record['workflow']} ({record['seconds']} s, exit {record['returncode']}) "
                f"| {str(row['job']).strip()} | {row['steps']:.1f} | {row.get('setup', 0.0):.1f} "
                f"| {row.get('install', 0.0):.1f} | {row.get('work', 0.0):.1f} | {row['install_line']} |"
            )


if __name__ == "__main__":
    main()
