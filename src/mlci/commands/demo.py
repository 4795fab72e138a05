"""`mlci demo`: the whole loop, for real, on the bundled example — offline, no token.

Each step runs the same `mlci` command a workflow would run, with the GitHub event it would get; with
no token every GitHub write lands in the project's outbox.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from mlci.errors import MlciError
from mlci.onboarding import example
from mlci.repo.dvc import tool_env
from mlci.repo.git import git

MODEL = "classifier"
MARKER = ".mlci-demo"
REPOSITORY = "local/mlci-demo"


@dataclass
class Demo:
    base: Path
    run_cli: Callable[[list[str]], int]
    started: float = field(default_factory=time.monotonic)
    step_no: int = 0

    @property
    def project(self) -> Path:
        return self.base / "project"

    def step(self, title: str) -> None:
        self.step_no += 1
        elapsed = time.monotonic() - self.started
        click.secho(f"\n[{self.step_no}/8 · {elapsed:4.0f}s] {title}", bold=True)

    def mlci(
        self, *args: str, event: tuple[str, dict[str, Any]] | None = None, ok: tuple[int, ...] = (0,)
    ) -> int:
        """Run one mlci command in the project as a workflow step would."""
        click.echo(f"  $ mlci {' '.join(args)}")
        with _event_env(self.base, event):
            code = self.run_cli(["-C", str(self.project), *args])
        if code not in ok:
            raise MlciError(f"demo step `mlci {' '.join(args)}` exited {code}", "see its output above")
        return code

    def git(self, *args: str) -> str:
        return git(self.project, *args)


@dataclass(frozen=True)
class DemoOptions:
    """`mlci demo [DIRECTORY]`; `run_cli` runs one `mlci` command line in this process (the CLI's funnel)."""

    directory: Path
    run_cli: Callable[[list[str]], int]


def run(ctx: None, options: DemoOptions) -> int:
    """The whole loop in a new folder (no context: the project does not exist yet); 0, or MlciError."""
    run_demo(options.directory, options.run_cli)
    return 0


def run_demo(dest: Path, run_cli: Callable[[list[str]], int]) -> Path:
    demo = _start(dest, run_cli)
    _train_main(demo)
    _pull_request(demo)
    _merge_and_deploy(demo)
    _monitor(demo)
    demo.step("Done: where to look")
    _show_results(demo)
    return demo.project


def _start(dest: Path, run_cli: Callable[[list[str]], int]) -> Demo:
    base = dest.resolve()
    if (base / MARKER).exists():  # our own earlier run: start again
        shutil.rmtree(base)
    elif base.exists() and any(base.iterdir()):
        raise MlciError(f"{dest} is not empty", "give `mlci demo` a new or empty folder")
    base.mkdir(parents=True, exist_ok=True)
    (base / MARKER).write_text("made by `mlci demo`; running it again replaces this folder\n")
    demo = Demo(base, run_cli)
    os.environ["PATH"] = tool_env()["PATH"]  # DVC stages run `python`: this interpreter's
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    demo.step(
        "Create the example project: scikit-learn model, 3-stage DVC pipeline, local remote, bare origin"
    )
    demo.project.mkdir(parents=True)
    example.write_project(demo.project)
    example.init_repo(demo.project, base / "dvc-remote", base / "origin.git")
    click.echo(f"  project in {demo.project}")
    return demo


def _train_main(demo: Demo) -> None:
    demo.step("Train on main (dvc repro, results pushed to the DVC remote)")
    demo.mlci("train")
    demo.git("add", "-A")
    demo.git("commit", "-q", "-m", "Train the first model")
    demo.git("push", "-q", "-u", "origin", "main")


def _pull_request(demo: Demo) -> None:
    demo.step("Open a pull request: a branch that changes a parameter, trained in CI")
    demo.git("checkout", "-q", "-b", "more-trees")
    _set_param(demo.project / "params.yaml", "n_estimators", 120)
    demo.git("commit", "-q", "-am", "Use 120 trees")
    demo.mlci("train")
    demo.git("add", "-A")
    demo.git("commit", "-q", "-m", "mlci: update results")
    demo.git("push", "-q", "-u", "origin", "more-trees")

    demo.step("PR report versus main, with quality gates (a sticky comment in the outbox)")
    pr_event = _pull_request_event(demo)
    gate_code = demo.mlci(
        "report", "--output", ".mlci/report.md", event=("pull_request", pr_event), ok=(0, 1)
    )
    click.echo("  gates " + ("passed" if gate_code == 0 else "FAILED (the PR check would be red)"))


def _merge_and_deploy(demo: Demo) -> None:
    demo.step("Merge the pull request into main")
    demo.git("checkout", "-q", "main")
    demo.git("merge", "-q", "--no-ff", "-m", "Merge pull request #1 from local/more-trees", "more-trees")
    demo.git("push", "-q", "origin", "main")

    demo.step("Deploy on merge: registry tag, stage, local target, GitHub Deployment")
    demo.mlci("deploy", MODEL, event=("push", _push_event(demo)))
    demo.mlci("registry")


def _monitor(demo: Demo) -> None:
    demo.step("Scheduled monitoring on fresh, drifted data")
    fresh = _write_fresh_data(demo.project)
    demo.mlci(
        "monitor",
        MODEL,
        "--current",
        str(fresh),
        "--output",
        ".mlci/monitor.md",
        "--open-pr",
        event=("schedule", {"schedule": "17 6 * * *"}),
    )


def _set_param(path: Path, key: str, value: object) -> None:
    import yaml

    params = yaml.safe_load(path.read_text())
    params["train"][key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _pull_request_event(demo: Demo) -> dict[str, Any]:
    head, base = demo.git("rev-parse", "more-trees"), demo.git("rev-parse", "main")
    repo = {"full_name": REPOSITORY, "fork": False, "default_branch": "main"}
    return {
        "action": "synchronize",
        "number": 1,
        "pull_request": {
            "number": 1,
            "title": "Use 120 trees",
            "head": {"sha": head, "ref": "more-trees", "repo": repo},
            "base": {"sha": base, "ref": "main", "repo": repo},
        },
        "repository": repo,
    }


def _push_event(demo: Demo) -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "after": demo.git("rev-parse", "HEAD"),
        "head_commit": {"id": demo.git("rev-parse", "HEAD"), "message": demo.git("log", "-1", "--format=%s")},
        "repository": {"full_name": REPOSITORY, "default_branch": "main"},
        "pusher": {"name": "demo"},
    }


def _write_fresh_data(project: Path) -> Path:
    """Last week's data: some measurements drifted (a new scanner), and a column lost values."""
    import numpy as np

    frame = example.raw_frame().sample(frac=0.6, random_state=7).reset_index(drop=True)
    rng = np.random.default_rng(7)
    for column in ("mean_radius", "mean_perimeter", "mean_area", "mean_texture", "mean_smoothness"):
        frame[column] = frame[column] * 1.35 + rng.normal(0, frame[column].std() * 0.2, len(frame))
    frame.loc[frame.sample(frac=0.2, random_state=3).index, "mean_symmetry"] = np.nan
    path = project / "fresh" / "week-48.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def _show_results(demo: Demo) -> None:
    project = demo.project
    outbox = project / ".mlci" / "outbox"
    looks = [
        ("PR report (markdown)", project / ".mlci" / "report.md"),
        ("Monitoring report", project / ".mlci" / "monitor.md"),
        ("What would be posted to GitHub", outbox),
        ("Deployed models (local target)", project / ".mlci" / "deployments"),
    ]
    for title, path in looks:
        mark = "" if path.exists() else "  (missing)"
        click.echo(f"  {title:32} {path}{mark}")
    for path in sorted(outbox.glob("*")) if outbox.exists() else []:
        click.echo(f"    {path.name}")
    click.echo(f"  Registry: git -C {project} tag --list")
    click.echo(f"  Retraining branch: git -C {project} log --oneline mlci/retrain/{MODEL}")
    click.secho(f"\nThe loop ran end to end in {time.monotonic() - demo.started:.0f}s.", bold=True)


@contextmanager
def _event_env(base: Path, event: tuple[str, dict[str, Any]] | None) -> Iterator[None]:
    """The environment GitHub gives a step for this event (without a token: the outbox is used)."""
    if event is None:
        yield
        return
    name, payload = event
    path = base / ".events" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2))
    values = {"GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(path), "GITHUB_REPOSITORY": REPOSITORY}
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
