"""Benchmark: the one install step (.ci/install_steps.py), for real, per install profile.

    python bench/bench_install.py [--profile mlci] [--profile light] [--profile project] [--reps 2]

Builds mlci's wheel from this checkout, then for each profile runs the step's script with bash, as a job
does (uv pinned, the lock inside the wheel, the package index), from the job's Python (a fresh virtual
environment standing in for setup-python's):
- cold: an empty uv cache, no environment: the step makes the environments and installs into them
  (profile `project`: mlci's environment and the project's, from a `pip freeze`-style requirements file
  in UTF-16 whose pins differ from mlci's lock: what a train job installs);
- save: the environment archived as actions/cache does (tar + zstd), timed;
- warm: the environment deleted, the archive unpacked where it was (what the restore step does, without
  the transfer), timed, then the step again with `cache-hit` true: it checks every file against the
  MANIFEST and installs nothing. "warm total" is unpack + step.
`--reps` times each, alternating the profiles. Needs the package index; uv is installed by the script
itself unless one of the same version is on PATH.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "mlci-env-bench"
# the train job of a project whose requirements are a pip freeze (UTF-16, as PowerShell writes it)
FREEZE = "click==8.1.7\r\nzc-lockfile==3.0.post1\r\npandas\r\nscikit-learn\r\npyyaml\r\n"


def _steps() -> object:
    spec = importlib.util.spec_from_file_location("install_steps", ROOT / ".ci" / "install_steps.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _step(steps: object, profile: str, wheel: Path, folder: Path, hit: bool) -> tuple[float, str]:
    """Run the install step's script once in the workspace `folder/ws` (the environments beside it);
    its wall time and last line."""
    version: str = steps.UV_VERSION  # type: ignore[attr-defined]
    workspace = folder / "ws"
    workspace.mkdir(exist_ok=True)
    requirements = ""
    if profile == "project":
        requirements = "requirements.txt"
        (workspace / requirements).write_bytes(b"\xff\xfe" + FREEZE.encode("utf-16-le"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "UV_CACHE_DIR")}
    values = steps.PROFILES["mlci" if profile == "project" else profile]  # type: ignore[attr-defined]
    env.update(
        PATH=f"{folder / 'job-python' / 'bin'}{os.pathsep}{env['PATH']}",
        HOME=str(folder / "home"),
        GITHUB_WORKSPACE=str(workspace),
        RUNNER_TEMP=str(folder),  # the job's folder: folder / "mlci-env"
        GITHUB_OUTPUT=str(folder / "output"),
        GITHUB_PATH=str(folder / "path"),
        GITHUB_ENV=str(folder / "env"),
        MLCI_PACKAGE=str(wheel),
        MLCI_REQUIREMENTS=requirements,
        MLCI_DVC_PLUGINS="",
        MLCI_WORKING_DIRECTORY=".",
        MLCI_FIND_PLUGINS="false",
        MLCI_DATA_STACK=values["MLCI_DATA_STACK"].strip('"'),
        MLCI_UV_VERSION=version,
        MLCI_ENV_KEY=KEY,
        MLCI_ENV_CACHE_HIT="true" if hit else "",
    )
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-c", steps.INSTALL_SCRIPT],  # type: ignore[attr-defined]
        env=env,
        cwd=folder / "ws",
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{profile}: the install step failed\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout.strip().splitlines()[-1]


def _timed(command: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(command, check=True)
    return time.monotonic() - started


def _once(steps: object, profile: str, wheel: Path, folder: Path) -> dict[str, object]:
    folder.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(folder / "job-python")], check=True)
    cold, line = _step(steps, profile, wheel, folder, hit=False)
    env = folder / "mlci-env"
    sites = list(env.glob("*/lib/python*/site-packages"))
    packages, site_mb = sum(len(list(s.glob("*.dist-info"))) for s in sites), _size(env) / 1e6
    archive = folder / "env.tzst"
    create = _timed(
        ["tar", "--use-compress-program", "zstd -T0", "-cf", str(archive), "-C", str(folder), "mlci-env"]
    )
    shutil.rmtree(env)
    extract = _timed(["tar", "--use-compress-program", "zstd -d", "-xf", str(archive), "-C", str(folder)])
    warm, warm_line = _step(steps, profile, wheel, folder, hit=True)
    if "nothing installed" not in warm_line:
        raise SystemExit(f"{profile}: the restored environment was not used: {warm_line}")
    return {
        "cold": cold,
        "line": line,
        "create": create,
        "extract": extract,
        "warm": warm,
        "total": extract + warm,
        "archive_mb": archive.stat().st_size / 1e6,
        "packages": packages,
        "env_mb": site_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--profile", action="append", choices=["mlci", "light", "project"], help="default: both"
    )
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    profiles = args.profile or ["mlci", "light"]
    steps = _steps()
    with tempfile.TemporaryDirectory(prefix="mlci-bench-install-") as tmp:
        base = Path(tmp)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "build",
                "--wheel",
                "--no-isolation",
                "--outdir",
                str(base / "dist"),
                str(ROOT),
            ],
            check=True,
            capture_output=True,
        )
        (wheel,) = (base / "dist").glob("mlci-*.whl")
        results: dict[str, list[dict[str, object]]] = {}
        for rep in range(args.reps):
            for profile in profiles:
                row = _once(steps, profile, wheel, base / f"{profile}-{rep}")
                results.setdefault(profile, []).append(row)
                print(f"{profile:5} rep {rep}: {row}", file=sys.stderr)
        print(
            "| profile | cold s | warm total s (unpack + step) | step on a hit s | archive MB | create s "
            "| packages | environment MB |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for profile, rows in results.items():

            def med(name: str, rows: list[dict[str, object]] = rows) -> str:
                values = [float(r[name]) for r in rows]  # type: ignore[arg-type]
                return f"{statistics.median(values):.1f} ({', '.join(f'{v:.1f}' for v in values)})"

            last = rows[-1]
            print(
                f"| {profile} | {med('cold')} | {med('total')} | {med('warm')} | {float(last['archive_mb']):.0f} "  # type: ignore[arg-type]
                f"| {med('create')} | {last['packages']} | {float(last['env_mb']):.0f} |"  # type: ignore[arg-type]
            )


if __name__ == "__main__":
    main()
