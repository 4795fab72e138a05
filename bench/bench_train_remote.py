"""What the DVC remote's kind costs `mlci train` on an unchanged commit: S3 (moto's server on loopback)
against a local folder, and what the status check (is what dvc.lock records in the remote?) adds.

    python bench/bench_train_remote.py [--reps 5] [--files 1000]

Two projects, each trained once and pushed to both remotes (a local folder and a bucket on moto's S3
server, started here on 127.0.0.1 as the tests start it; moto comes with the test extra):

  example  the bundled example (3 stages, a few small outputs)
  files    one stage writing a folder of --files small files (the "1,000-file output")

Each repetition, per project and remote, alternating local/S3 (A/B), starts from a fresh `git clone` with
an empty DVC cache, as a CI runner does, and times:

  train   `mlci train --no-push` (all stages unchanged: `dvc repro --pull --allow-missing`, then the
          status check for the stages whose outputs are absent, which is all of them in a fresh clone)
  repro   `dvc repro --pull --allow-missing` alone: train without the status check (what it ran before)
  status  the status check alone: `dvc status --cloud --json -r REMOTE STAGES`, mlci's call (on
          every stage: in a fresh clone none has its outputs)

Prints a markdown table of medians (and min), the machine and its load average before and after, and
writes the raw numbers to bench/results/train_remote.json. Only loopback is used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(1, str(HERE.parent))

from bench_train import _run, machine  # noqa: E402
from tests.testing.storage import CREDENTIALS, moto_server  # noqa: E402

from mlci.onboarding import example  # noqa: E402
from mlci.repo.git import git  # noqa: E402

PROJECTS = ("example", "files")
REMOTES = ("local", "s3")
STEPS = ("train", "repro", "status")
MAKE = """\
import pathlib, sys
out = pathlib.Path("out")
out.mkdir(exist_ok=True)
for i in range(int(sys.argv[1])):
    (out / f"part-{i:04d}.txt").write_text(f"row {i}\\n" * 20)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="mlci-bench-remote-") as tmp:
        base = Path(tmp)
        _isolate(base)
        with moto_server(base / "moto.log") as (server, _):
            import boto3

            client = boto3.client(
                "s3",
                endpoint_url=server.endpoint,
                aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            )
            origins = {}
            for project in PROJECTS:
                client.create_bucket(Bucket=f"bench-{project}")
                origins[project] = _publish(base / project, project, server.endpoint, args.files)
            times: dict[str, list[float]] = {}
            for rep in range(args.reps):
                for project in PROJECTS:
                    order = REMOTES if rep % 2 == 0 else REMOTES[::-1]  # A/B, then B/A
                    for remote in order:
                        for step in STEPS:
                            seconds = _one(
                                base / f"r{rep}-{project}-{remote}-{step}", origins[project], remote, step
                            )
                            times.setdefault(f"{project}/{remote}/{step}", []).append(seconds)
                            print(
                                f"rep {rep + 1}: {project:7} {remote:5} {step:6} {seconds:6.2f} s",
                                file=sys.stderr,
                            )
    load_after = os.getloadavg()
    report(times, args, load_before, load_after)


def _isolate(base: Path) -> None:
    home = base / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = bench\n\temail = bench@example.com\n")
    os.environ.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), DVC_NO_ANALYTICS="1")
    os.environ.update(CREDENTIALS)
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        os.environ.pop(name, None)  # loopback only


def _publish(base: Path, project: str, endpoint: str, files: int) -> Path:
    """The project trained once, its results pushed to the local remote and to the bucket."""
    root = base / "work"
    root.mkdir(parents=True)
    if project == "example":
        example.write_project(root)
        example.init_repo(root, base / "dvc-remote", base / "origin.git")
    else:
        (root / "make.py").write_text(MAKE)
        (root / "dvc.yaml").write_text(
            f"stages:\n  make:\n    cmd: python make.py {files}\n    deps: [make.py]\n    outs: [out]\n"
        )
        (base / "dvc-remote").mkdir()
        git(base, "init", "-q", "--bare", "-b", "main", str(base / "origin.git"))
        git(root, "init", "-q", "-b", "main")
        git(root, "remote", "add", "origin", str(base / "origin.git"))
        example.dvc(root, "init", "-q")
        example.dvc(root, "config", "core.analytics", "false")
        example.dvc(root, "remote", "add", "-d", "storage", str(base / "dvc-remote"))
    example.dvc(root, "remote", "add", "s3", f"s3://bench-{project}/store")
    example.dvc(root, "remote", "modify", "s3", "endpointurl", endpoint)
    example.train_and_publish(root, "Train")  # repro, commit, push to the default (local) remote
    example.dvc(root, "push", "-q", "--run-cache", "-r", "s3")
    return base / "origin.git"


def _one(dest: Path, origin: Path, remote: str, step: str) -> float:
    git(dest.parent, "clone", "-q", str(origin), str(dest))
    name = "storage" if remote == "local" else "s3"
    # the default remote of this clone, in config.local as a user's override would be
    example.dvc(dest, "remote", "default", "--local", name)
    if step == "train":
        cmd = [sys.executable, "-m", "mlci", "train", "--no-push", "--format", "json"]
    elif step == "repro":
        cmd = [sys.executable, "-m", "dvc", "repro", "--pull", "--allow-missing"]
    else:
        cmd = [sys.executable, "-m", "dvc", "status", "--cloud", "--json", "-r", name, *_stages(dest)]
    start = time.perf_counter()
    out = _run(cmd, dest)
    seconds = time.perf_counter() - start
    _check(dest, step, out)
    shutil.rmtree(dest)
    return seconds


def _stages(root: Path) -> list[str]:
    from mlci.repo import pipeline as pl

    return list(pl.read(root).stages)


def _check(root: Path, step: str, out: str) -> None:
    """The numbers only mean something if each run did what it claims."""
    if step == "train":
        stages = json.loads((root / ".mlci" / "train" / "result.json").read_text())["stages"]
        if {s["outcome"] for s in stages} != {"unchanged"}:
            raise SystemExit(f"train: expected every stage unchanged, got {stages}")
    if step == "status" and "missing" in json.loads(out or "{}").values():
        raise SystemExit(f"status: the remote lacks something: {out}")


def report(
    times: dict[str, list[float]],
    args: argparse.Namespace,
    before: tuple[float, ...],
    after: tuple[float, ...],
) -> None:
    def cell(key: str) -> str:
        values = times[key]
        return f"{statistics.median(values):.2f} s (min {min(values):.2f})"

    print(f"\nmachine: {machine()}")
    print(f"load average (1, 5, 15 min): before {_load(before)}, after {_load(after)}")
    print(f"repetitions: {args.reps}, a fresh clone and an empty DVC cache each time; --files {args.files}\n")
    print(
        "| project | remote | mlci train (median) | dvc repro --pull --allow-missing | status check alone |"
    )
    print("|---|---|---:|---:|---:|")
    for project in PROJECTS:
        for remote in REMOTES:
            keys = [f"{project}/{remote}/{step}" for step in STEPS]
            print(f"| {project} | {remote} | {' | '.join(cell(k) for k in keys)} |")
    out = HERE / "results" / "train_remote.json"
    out.parent.mkdir(exist_ok=True)
    data = {
        "machine": machine(),
        "load": [before, after],
        "reps": args.reps,
        "files": args.files,
        "times": times,
    }
    out.write_text(json.dumps(data, indent=2) + "\n")


def _load(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    main()
