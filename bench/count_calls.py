"""Count what one run costs in process and DVC terms, on the bundled example project:

    python bench/count_calls.py [--keep | --reuse FOLDER]

- DVC `Repo` opens per `mlci monitor classifier --current FRESH` (cold: no cached reference profile;
  warm: the profile cached by the cold run), counted by wrapping `dvc.repo.Repo.__init__` in the
  process that runs the command (`dvc.api.open` and `DVCFileSystem` open a `Repo` too, so all count);
- git processes per `mlci report --base main` on a branch that changed a param and retrained,
  counted by a `git` shim first on PATH that logs each call and runs the real git.

Prints one line per count and the git calls by subcommand. Exit 0 (a measurement, not a check).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

COUNT_REPO = """
import sys
import traceback
import dvc.repo
opens = [0]
original = dvc.repo.Repo.__init__
def counted(self, *args, **kwargs):
    opens[0] += 1
    mlci = [f for f in traceback.extract_stack() if "/mlci/" in f.filename]
    where = f"{mlci[-1].filename.rsplit('/mlci/', 1)[1]}:{mlci[-1].name}" if mlci else "?"
    print(f"REPO_OPEN_BY {where}", file=sys.stderr)
    original(self, *args, **kwargs)
dvc.repo.Repo.__init__ = counted
from mlci.cli.app import run
code = run(sys.argv[1:])
print(f"REPO_OPENS {opens[0]} EXIT {code}", file=sys.stderr)
"""


def _env(extra_path: str = "") -> dict[str, str]:
    path = os.pathsep.join(p for p in (extra_path, str(Path(sys.executable).parent), os.environ["PATH"]) if p)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return {**env, "PYTHONPATH": str(SRC), "DVC_NO_ANALYTICS": "1", "PATH": path}


def build(base: Path) -> Path:
    """The example project trained on main, then a branch `more-trees` that changed a param."""
    sys.path.insert(0, str(SRC))
    os.environ["PATH"] = _env()["PATH"]
    from mlci.onboarding import example
    from mlci.repo.git import git

    project = base / "project"
    project.mkdir(parents=True)
    example.write_project(project)
    example.init_repo(project, base / "remote", base / "origin.git")
    example.train_and_publish(project)
    git(project, "checkout", "-q", "-b", "more-trees")
    params = project / "params.yaml"
    text = params.read_text()
    params.write_text(re.sub(r"n_estimators: \d+", "n_estimators: 90", text))
    example.train_and_publish(project, "More trees")
    frame = example.raw_frame().sample(frac=0.5, random_state=1)
    frame.to_csv(base / "fresh.csv", index=False)
    return project


def repo_opens(project: Path, fresh: Path) -> int:
    args = ["monitor", "classifier", "--current", str(fresh), "--format", "json"]
    proc = subprocess.run(
        [sys.executable, "-c", COUNT_REPO, *args], cwd=project, env=_env(), capture_output=True, text=True
    )
    line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("REPO_OPENS")), "")
    if not line or not line.endswith("EXIT 0"):
        raise SystemExit(f"mlci monitor failed:\n{proc.stderr}")
    for by in (ln for ln in proc.stderr.splitlines() if ln.startswith("REPO_OPEN_BY")):
        print(f"  opened by {by.split()[1]}")
    return int(line.split()[1])


def git_calls(project: Path, base: Path) -> collections.Counter[str]:
    shim, log = base / "shim", base / "git.log"
    shim.mkdir(exist_ok=True)
    log.unlink(missing_ok=True)
    real = shutil.which("git")
    (shim / "git").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    (shim / "git").chmod(0o755)
    proc = subprocess.run(
        [sys.executable, "-m", "mlci", "report", "--base", "main"],
        cwd=project,
        env=_env(str(shim)),
        capture_output=True,
        text=True,
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"mlci report failed ({proc.returncode}):\n{proc.stderr}")
    calls = log.read_text().splitlines() if log.exists() else []
    return collections.Counter(_subcommand(c) for c in calls)


def _subcommand(line: str) -> str:
    words = line.split()
    while words and words[0] in ("-C", "-c"):
        words = words[2:]
    return " ".join(words[:2]) if words else "(none)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--reuse", type=Path, help="the folder a --keep run kept: count again, build nothing")
    args = parser.parse_args()
    base = args.reuse or Path(tempfile.mkdtemp(prefix="mlci-count-"))
    try:
        project = base / "project" if args.reuse else build(base)
        shutil.rmtree(project / ".mlci" / "profiles", ignore_errors=True)  # monitor.profile_dir's default
        print("cold run (no cached reference profile):")
        cold = repo_opens(project, base / "fresh.csv")
        print("warm run (the profile the cold run cached):")
        warm = repo_opens(project, base / "fresh.csv")
        print(f"DVC Repo opens per `mlci monitor classifier --current FILE`: cold {cold}, warm {warm}")
        calls = git_calls(project, base)
        print(f"git processes per `mlci report --base main`: {sum(calls.values())}")
        for name, count in calls.most_common():
            print(f"  {count:3d}  git {name}")
    finally:
        if args.keep or args.reuse:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
