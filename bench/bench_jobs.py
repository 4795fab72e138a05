"""Benchmark: where a job's wall time goes — set-up, installing mlci, mlci's own work.

    python bench/bench_jobs.py [--scenario report] [--scenario deploy] [--scenario all] [--keep DIR]

Runs workflow scenarios of tests/workflows/ (the real workflow files on the Actions runner harness,
../shared/tools/actions-runner, against the example project), one at a time: the callers `mlci init`
writes (test_scenarios.py: report, train, fork, deploy, monitor, dogfood; test_monitor_partitions.py:
monitor-partitions) and the composite action in
docs/action.md's workflow (test_action_scenarios.py: action-*). `report` runs the report
workflow twice in one test, so the first run starts with an empty uv cache (cold) and the second restores
it (warm); `train` runs its test twice in one session (affected → data → train: cold, then warm); `deploy` deploys
twice (cold, warm), then rolls back. From act's step timings and each job's `mlci install:` line it prints, per job: wall time, the
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
CALLERS = "tests/workflows/test_scenarios.py::"
ACTION = "tests/workflows/test_action_scenarios.py::"
ENVS = "tests/workflows/test_environment_scenarios.py::"
# Each scenario's test(s), run in one pytest session (one wheel, so one uv cache key per install profile):
# the report test runs its workflow twice, the deploy test deploys twice, the train test is run twice
# (bench/bench_repeat.py).
REPEAT = {"train": "2"}
TESTS = {
    "report": [CALLERS + "test_pull_request_report_posts_one_sticky_comment_and_a_rerun_edits_it"],
    "train": [
        CALLERS + "test_push_trains_the_changed_model_pushes_results_to_the_dvc_remote_and_commits_them"
    ]
    * 2,
    "deploy": [CALLERS + "test_a_push_to_main_deploys_with_one_deployment_and_a_dispatch_rolls_back"],
    "fork": [CALLERS + "test_a_fork_pull_request_is_reported_through_the_artifact_and_posted_by_report_post"],
    "monitor": [CALLERS + "test_a_scheduled_monitor_finds_decay_and_opens_a_retraining_pull_request"],
    # #35: partitions: 3 (models, reference, three profile jobs, decide, retrain)
    "monitor-partitions": [
        "tests/workflows/test_monitor_partitions.py::"
        "test_three_profile_jobs_and_one_decision_give_one_jobs_report_and_one_pull_request"
    ],
    "dogfood": [CALLERS + "test_dogfood_runs_the_action_on_the_fixture_project_for_a_pull_request"],
    "action-report": [ACTION + "test_action_pull_request_reports_with_one_sticky_comment_and_a_check_run"],
    "action-train": [ACTION + "test_action_push_to_a_branch_trains_and_pushes_the_results_to_the_dvc_remote"],
    "action-deploy": [ACTION + "test_action_push_to_main_deploys_with_one_deployment"],
    "action-monitor": [ACTION + "test_action_schedule_and_dispatch_monitor_the_production_model"],
    "action-no-current": [ACTION + "test_action_fails_with_the_fix_when_monitor_has_no_current_data"],
    # two environments (#28): the report of a project with heavy requirements (compare with `report`),
    # and a UTF-16 pip freeze through train (cold, then warm), report, deploy and monitor
    "heavy-report": [ENVS + "test_the_report_job_of_a_project_with_heavy_requirements_installs_only_mlci"],
    "freeze": [
        ENVS + "test_a_utf16_pip_freeze_that_conflicts_with_mlcis_lock_trains_reports_deploys_and_monitors"
    ],
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
        start = len(timings.read_text().splitlines()) if timings.exists() else 0
        proc = subprocess.run(
            [*PYTEST, "-p", "bench_repeat", *TESTS[name]],
            cwd=ROOT,
            env={
                **os.environ,
                "MLCI_WORKFLOW_TIMINGS": str(timings),
                "MLCI_BENCH_REPEAT": REPEAT.get(name, "1"),
                # one act cache server for the whole benchmark (each test has its own HOME, where the
                # runner keeps it by default): a scenario's second test restores what the first saved
                "ACTIONS_RUNNER_HOME": str(folder / "runner-home"),
                "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "bench")]),
            },
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
