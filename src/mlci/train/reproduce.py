"""Run the DVC pipeline with the remote as its cache, and say per stage what happened.

`dvc repro --pull --allow-missing` decides, stage by stage: unchanged stages are skipped without
downloading anything, a stage whose exact run is in the run-cache (local or remote) is restored,
and only the rest run (their missing dependencies are pulled first). DVC reports each decision as
a log line; we stream those lines to the log and time the stages from them.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlci.errors import MlciError
from mlci.repo import pipeline as pl
from mlci.repo.dvc import tool_env
from mlci.repo.remote import Remote, explain_failure
from mlci.safety import one_line

Outcome = Literal["ran", "restored", "unchanged"]

_EVENTS: tuple[tuple[re.Pattern[str], Outcome], ...] = (
    (re.compile(r"^Running stage '(?P<name>.+)':$"), "ran"),
    (re.compile(r"^Stage '(?P<name>.+)' is cached - skipping run"), "restored"),
    (re.compile(r"^Stage '(?P<name>.+)' didn't change, skipping$"), "unchanged"),
    (re.compile(r"^Pulling data for stage: '(?P<name>.+)'$"), "unchanged"),
)


@dataclass
class StageResult:
    name: str
    outcome: Outcome
    seconds: float = 0.0


@dataclass
class TrainResult:
    stages: list[StageResult] = field(default_factory=list)
    seconds: float = 0.0
    pushed: bool = False
    push_seconds: float = 0.0
    changed: bool = False
    metrics_files: list[str] = field(default_factory=list)
    commit: str = ""  # the commit pushed back to the branch, if any
    remote: str = ""

    def names(self, outcome: Outcome) -> list[str]:
        return [s.name for s in self.stages if s.outcome == outcome]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["stages_run"] = self.names("ran")
        data["stages_restored"] = self.names("restored")
        return data


def dvc_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "dvc", *args]


def reproduce(
    root: Path,
    pipeline: pl.Pipeline,
    targets: Sequence[str],
    *,
    pull: bool,
    remote: Remote,
    echo: Callable[[str], None],
    fetch: bool = False,
) -> list[StageResult]:
    """Run `dvc repro` on the targets (all stages when empty); raise MlciError when it fails.

    pull: the remote as cache (`--pull --allow-missing`); fetch: `--pull` alone, so stages whose
    outputs are missing everywhere run."""
    selected = pl.closure(pipeline, targets) if targets else list(pipeline.stages)
    present_before = {name: _outs_present(root, pipeline.stages[name]) for name in selected}
    flags = ["--pull", "--allow-missing"] if pull else ["--pull"] if fetch else []
    code, output, events, end = _run_repro(root, ["repro", *flags, *targets], pipeline, echo)
    if code != 0:
        raise _never_written(root, pipeline, output, events) or _failure(root, remote, output, events)
    results = _outcomes(events, end)
    _check_written(root, pipeline, results)
    _mark_restored(root, pipeline, results, present_before)
    if pull:
        _rerun_lost(root, pipeline, results, remote, echo)
    return results


def _run_repro(
    root: Path, args: list[str], pipeline: pl.Pipeline, echo: Callable[[str], None]
) -> tuple[int, str, list[tuple[str, Outcome, float]], float]:
    """Run DVC with `args`, echoing its output line by line: (exit code, its last 400 lines, each stage's
    start as (name, outcome, monotonic time), the monotonic time it ended)."""
    events: list[tuple[str, Outcome, float]] = []
    lines: deque[str] = deque(maxlen=400)  # enough to explain a failure, bounded for chatty training
    proc = subprocess.Popen(
        dvc_command(*args),
        cwd=root,
        env=tool_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
    )
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.rstrip("\n")
        lines.append(line)
        echo(line)
        for pattern, outcome in _EVENTS:
            match = pattern.match(line)
            if match and match.group("name") in pipeline.stages:
                events.append((match.group("name"), outcome, time.monotonic()))
                break
    code = proc.wait()
    return code, "\n".join(lines), events, time.monotonic()


def _mark_restored(
    root: Path, pipeline: pl.Pipeline, results: list[StageResult], present_before: dict[str, bool]
) -> None:
    """A skipped stage whose outputs were missing before and were pulled as a dependency was restored."""
    for result in results:
        missing_before = not present_before.get(result.name, True)
        if (
            result.outcome == "unchanged"
            and missing_before
            and _outs_present(root, pipeline.stages[result.name])
        ):
            result.outcome = "restored"


def _rerun_lost(
    root: Path,
    pipeline: pl.Pipeline,
    results: list[StageResult],
    remote: Remote,
    echo: Callable[[str], None],
) -> None:
    """Stages DVC skipped as unchanged whose outputs are neither here nor in the remote run again.

    `--allow-missing` skips a stage whose dvc.lock matches even when nothing holds its outputs (a
    fresh clone of a repo whose results were never pushed): a green train that produced nothing. One
    `dvc status --cloud` (hashes only, no download) finds them; they re-run, in pipeline order.
    """
    skipped = [
        r for r in results if r.outcome == "unchanged" and not _outs_present(root, pipeline.stages[r.name])
    ]
    if not skipped:
        return
    proc = _dvc_with_remote(
        root,
        remote,
        ["status", "--cloud", "--json", "-r", remote.name, *(r.name for r in skipped)],
        "checking the remote",
        f"cannot check which results it holds; run `dvc status --cloud -r {remote.name}` locally to see why",
    )
    missing = {pl.norm(path) for path, state in json.loads(proc.stdout or "{}").items() if state == "missing"}
    lost = [r for r in skipped if any(o.path in missing for o in pipeline.stages[r.name].outs)]
    if not lost:
        return
    for result in lost:
        paths = sorted(o.path for o in pipeline.stages[result.name].outs if o.path in missing)
        echo(
            f"── stage '{result.name}': dvc.lock is current but {remote.describe()} lacks its outputs "
            f"({', '.join(paths)}): running it"
        )
    # without --allow-missing DVC sees the missing outputs: upstream results the remote has are
    # pulled, the rest (these stages, and any lost upstream stage) run
    rerun = reproduce(
        root, pipeline, [r.name for r in lost], pull=False, remote=remote, echo=echo, fetch=True
    )
    by_name = {r.name: r for r in rerun}
    for i, result in enumerate(results):
        if result.name in by_name:
            results[i] = by_name[result.name]


def _outcomes(events: list[tuple[str, Outcome, float]], end: float) -> list[StageResult]:
    results: dict[str, StageResult] = {}
    for i, (name, outcome, at) in enumerate(events):
        until = events[i + 1][2] if i + 1 < len(events) else end
        previous = results.get(name)
        if previous is None or outcome != "unchanged":
            results[name] = StageResult(name, outcome, round(until - at, 3))
    return list(results.values())


def _outs_present(root: Path, stage: pl.Stage) -> bool:
    return bool(stage.outs) and all((root / o.path).exists() for o in stage.outs)


_NO_HASH = re.compile(r"No file hash info found for '([^']+)'")


def _check_written(root: Path, pipeline: pl.Pipeline, results: Sequence[StageResult]) -> None:
    """Every stage that ran wrote the outputs it declares. With `--allow-missing` DVC records a stage
    that wrote nothing as done and skips the stages after it, and the results would be a lock naming
    data this run never made."""
    for result in results:
        stage = pipeline.stages.get(result.name)
        if result.outcome != "ran" or stage is None:
            continue
        for out in stage.outs:
            if not (root / out.path).exists():
                raise _not_written(result.name, out.path)


def _not_written(stage: str, path: str) -> MlciError:
    return MlciError(
        f"stage '{one_line(stage, 80)}' ran in this job but did not write its output "
        f"'{one_line(path, 200)}' (dvc.yaml declares it), so the stages after it could not use it",
        f"make the stage's command write {one_line(path, 200)}, or remove it from the stage's outs; "
        f"check it locally with `dvc repro {one_line(stage, 80)}`",
    )


def _never_written(
    root: Path, pipeline: pl.Pipeline, output: str, events: list[tuple[str, Outcome, float]]
) -> MlciError | None:
    """An output an earlier stage of this run declares but never wrote: DVC records no hash for it
    ("No file hash info found"), then fails the next stage's checkout as if the data were lost. The
    stage's command is at fault, not the remote."""
    ran = {name for name, outcome, _ in events if outcome == "ran" and name in pipeline.stages}
    for written in _NO_HASH.findall(output):
        path = Path(written)
        relative = (path.relative_to(root) if path.is_absolute() else path).as_posix()
        if (root / relative).exists():
            continue
        for name in ran:
            if any(o.path == relative for o in pipeline.stages[name].outs):
                return _not_written(name, relative)
    return None


def _failure(root: Path, remote: Remote, output: str, events: list[tuple[str, Outcome, float]]) -> MlciError:
    remote_error = explain_failure(remote, output, "pulling from the remote")
    if remote_error is not None and remote_error.missing:
        # DVC says "missing" for a remote it could not use, too: ask the remote which it was
        from mlci.repo.remote import diagnose

        return diagnose(root, remote.name) or remote_error
    if remote_error is not None:
        return remote_error
    running = [name for name, outcome, _ in events if outcome == "ran"]
    errors = [ln for ln in output.splitlines() if ln.startswith("ERROR")]
    detail = one_line(errors[-1].removeprefix("ERROR: "), 300) if errors else "see the log above"
    where = f"stage '{one_line(running[-1], 80)}' failed" if running else "dvc repro failed"
    command = f"dvc repro {running[-1]}" if running else "dvc repro"
    return MlciError(f"{where}: {detail}", f"reproduce it locally with `{one_line(command, 100)}`")


def push(
    root: Path, remote: Remote, stages: Sequence[str], pipeline: pl.Pipeline, *, everything: bool
) -> float:
    """Push new outputs and the run-cache, then the objects of `cache: false` outputs.

    `dvc push --run-cache` leaves out the files of `cache: false` outputs (metrics, plots), so a
    run-cache entry that names them cannot be restored elsewhere and the stage re-runs. Pushing those
    objects too makes such stages restorable on the next runner.
    """
    start = time.monotonic()
    # all: no targets, so data tracked by .dvc files goes too; some: the stages and their upstream
    _dvc_with_remote(
        root,
        remote,
        ["push", "--run-cache", "-r", remote.name, *([] if everything else ["--with-deps", *stages])],
        "pushing to the remote",
        f"dvc push failed; run `dvc push --run-cache -r {remote.name}` locally to see why",
    )
    _push_uncached(root, remote, [pipeline.stages[s] for s in stages])
    return round(time.monotonic() - start, 3)


def _dvc_with_remote(
    root: Path, remote: Remote, args: list[str], action: str, failed: str
) -> subprocess.CompletedProcess[str]:
    """A DVC command that talks to `remote`; its failure names the remote and what went wrong."""
    proc = subprocess.run(
        dvc_command(*args),
        cwd=root,
        env=tool_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        what, _, hint = failed.partition("; ")
        last = one_line(output.strip().splitlines()[-1:] or "?", 300)
        raise explain_failure(remote, output, action) or MlciError(
            f"{remote.describe()}: {what}: {last}", hint
        )
    return proc


def _push_uncached(root: Path, remote: Remote, stages: Sequence[pl.Stage]) -> None:

    lock = root / "dvc.lock"
    if not lock.is_file():
        return
    from mlci.readers import read_yaml

    document = read_yaml(lock, "dvc.lock") or {}
    entries = (document.get("stages") if isinstance(document, dict) else None) or {}
    uncached = {o.path for s in stages for o in s.uncached}
    hashes = [
        out["md5"]
        for name, entry in entries.items()
        for out in (entry or {}).get("outs") or []
        if isinstance(out, dict) and pl.norm(str(out.get("path", ""))) in uncached and out.get("md5")
    ]
    if not hashes:
        return
    from dvc.repo import Repo
    from dvc_data.hashfile.hash_info import HashInfo

    with Repo(str(root)) as repo:
        repo.cloud.push([HashInfo("md5", h) for h in hashes], remote=remote.name)


def stop_token() -> str:
    """A token for `::stop-commands::`: output of the repo's own scripts cannot issue workflow commands."""
    return f"mlci-{secrets.token_hex(12)}"
