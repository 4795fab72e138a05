"""Benchmark: the one install step (.ci/install_steps.py), for real, per install profile.

    python bench/bench_install.py [--profile mlci] [--profile light] [--reps 2]

Builds mlci's wheel from this checkout, then for each profile runs the step's script with bash, as a job
does (uv pinned, the lock inside the wheel, the package index), into a fresh virtual environment: cold (an
empty uv cache: every download; the step then prunes the cache to what a job saves, unless `--no-prune`)
and warm (that cache again, as after a restore), `--reps` times each, alternating the profiles. Prints the
wall time of each run, the packages and the size of site-packages and of the cache, and the time to
archive the cache and unpack it (tar + zstd, what actions/cache does on save and restore, without the
transfer). Needs the package index; uv is installed by the script itself unless one of the same version
is on PATH.
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


def _steps() -> object:
    spec = importlib.util.spec_from_file_location("install_steps", ROOT / ".ci" / "install_steps.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _run(steps: object, profile: str, wheel: Path, cache: Path, folder: Path, hit: bool) -> dict[str, object]:
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    home = folder / "home" / ".cache" / "mlci-uv"
    home.mkdir(parents=True)
    (home / "cache").symlink_to(cache)
    version: str = steps.UV_VERSION  # type: ignore[attr-defined]
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if Path(uv).exists():
        (home / f"uv-{version}" / "bin").mkdir(parents=True)
        (home / f"uv-{version}" / "bin" / "uv").symlink_to(uv)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "UV_CACHE_DIR")}
    values = steps.PROFILES[profile]  # type: ignore[attr-defined]
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}",
        HOME=str(folder / "home"),
        GITHUB_OUTPUT=str(folder / "output"),
        MLCI_PACKAGE=str(wheel),
        MLCI_REQUIREMENTS="",
        MLCI_DVC_PLUGINS="",
        MLCI_WORKING_DIRECTORY=".",
        MLCI_FIND_PLUGINS="false",
        MLCI_DATA_STACK=values["MLCI_DATA_STACK"].strip('"'),
        MLCI_UV_VERSION=version,
        MLCI_UV_CACHE_HIT="true" if hit else "",  # on a miss the step prunes what it would save
    )
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "-c", steps.INSTALL_SCRIPT],  # type: ignore[attr-defined]
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{profile}: the install step failed\n{done.stdout}\n{done.stderr}")
    (site,) = (venv / "lib").glob("python*/site-packages")
    return {
        "seconds": seconds,
        "packages": len(list(site.glob("*.dist-info"))),
        "site_mb": _size(site) / 1e6,
        "cache_mb": _size(cache) / 1e6,
        "line": done.stdout.strip().splitlines()[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", action="append", choices=["mlci", "light"], help="default: both")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument(
        "--no-prune",
        action="store_true",
        help="keep the whole uv cache after a cold install (as before #16's prune)",
    )
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
        results: dict[tuple[str, str], list[dict[str, object]]] = {}
        archives: dict[str, tuple[float, float, float]] = {}
        for rep in range(args.reps):
            for profile in profiles:
                cache = base / f"cache-{profile}-{rep}"
                cache.mkdir()
                for state in ("cold", "warm"):
                    hit = state == "warm" or args.no_prune
                    row = _run(steps, profile, wheel, cache, base / f"{profile}-{rep}-{state}", hit)
                    results.setdefault((profile, state), []).append(row)
                    if rep == 0 and state == "cold":  # what the job's save step archives
                        archives[profile] = _archive(cache, base / f"archive-{profile}")
                    print(
                        f"{profile:5} {state} rep {rep}: {row['seconds']:.1f} s  {row['line']}",
                        file=sys.stderr,
                    )
        print("| profile | state | median s (runs) | packages | site-packages MB | uv cache MB after |")
        print("|---|---|---:|---:|---:|---:|")
        for (profile, state), rows in results.items():
            times = [float(r["seconds"]) for r in rows]  # type: ignore[arg-type]
            last = rows[-1]
            print(
                f"| {profile} | {state} | {statistics.median(times):.1f} ({', '.join(f'{t:.1f}' for t in times)}) "
                f"| {last['packages']} | {last['site_mb']:.0f} | {last['cache_mb']:.0f} |"
            )
        print("\n| profile | cache archive MB (tar + zstd, as actions/cache) | create s | extract s |")
        print("|---|---:|---:|---:|")
        for profile, (size, create, extract) in archives.items():
            print(f"| {profile} | {size:.0f} | {create:.1f} | {extract:.1f} |")


def _archive(cache: Path, folder: Path) -> tuple[float, float, float]:
    """What actions/cache does around the network: tar + zstd the cache on save, unpack it on restore."""
    folder.mkdir()
    archive = folder / "cache.tzst"
    started = time.monotonic()
    subprocess.run(
        ["tar", "--use-compress-program", "zstd -T0", "-cf", str(archive), "-C", str(cache), "."], check=True
    )
    create = time.monotonic() - started
    (folder / "out").mkdir()
    started = time.monotonic()
    subprocess.run(
        ["tar", "--use-compress-program", "zstd -d", "-xf", str(archive), "-C", str(folder / "out")],
        check=True,
    )
    return archive.stat().st_size / 1e6, create, time.monotonic() - started


if __name__ == "__main__":
    main()
