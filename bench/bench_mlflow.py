"""Benchmark: what the MLflow lookups add to `mlci report`, and what an MLflow client would add to the install.

    python bench/bench_mlflow.py [--reps 5] [--metrics 60] [--mlflow-metrics 20]

Builds the same git + DVC repo as bench_report.py (two commits), starts a real `mlflow server` on
loopback (sqlite backend, proxied artifacts; 20-60 s), logs one run per commit, then times
`mlci report --format json` as a fresh process `--reps` times without and with the `mlflow:` section,
alternating the two in one run, and prints the medians and the difference. Then the install sizes:
mlci talks to MLflow over REST with `requests` (already a dependency), so its runtime install gains only
its own source; the alternative, MLflow's lightest client (`mlflow-skinny`), is installed into an empty
environment with uv (from uv's cache when warm) and measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_report import SRC, build_repo

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    mlflow = Path(sys.executable).parent / "mlflow"
    command = [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{folder / 'db.sqlite'}", "--serve-artifacts"]
    command += ["--artifacts-destination", str(folder / "artifacts")]
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    for _ in range(360):
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2):
                return proc, uri
        except OSError:
            time.sleep(0.5)
    raise SystemExit("mlflow server did not start: " + (folder / "server.log").read_text()[-2000:])


def stop(proc: subprocess.Popen[bytes]) -> None:
    """The server's whole process group: SIGTERM, then SIGKILL after 30 s (uvicorn may linger)."""
    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(timeout=10)


def log_runs(uri: str, shas: tuple[str, str], count: int) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    experiment = client.create_experiment("bench")
    for step, sha in enumerate(shas):
        run = client.create_run(experiment, tags={"mlflow.source.git.commit": sha}).info.run_id
        for i in range(count):
            client.log_metric(run, f"val_metric_{i}", 0.5 + step * 0.01 + i / 1000)
        for i in range(5):
            client.log_param(run, f"param_{i}", str(i + step))
        client.set_terminated(run)


def timed(root: Path, base: str, head: str, env: dict[str, str]) -> float:
    command = [sys.executable, "-m", "mlci", "report", "--base", base, "--head", head, "--format", "json"]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"mlci report failed ({proc.returncode}):\n{proc.stderr}")
    return elapsed


def report_times(root: Path, base: str, head: str, uri: str, reps: int) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "DVC_NO_ANALYTICS": "1", "MLFLOW_TRACKING_URI": uri}
    plain = (root / "mlci.yaml").read_text() if (root / "mlci.yaml").exists() else ""
    with_mlflow = plain + "mlflow:\n  experiment: bench\n"
    without, with_ = [], []
    for rep in range(reps + 1):  # the first round warms the OS file cache; not counted
        (root / "mlci.yaml").write_text(plain)
        a = timed(root, base, head, env)
        (root / "mlci.yaml").write_text(with_mlflow)
        b = timed(root, base, head, env)
        if rep:
            without.append(a)
            with_.append(b)
    return statistics.median(without), statistics.median(with_)


def lookup_times(uri: str, shas: tuple[str, str], reps: int) -> float:
    """Median seconds of the lookups alone, in process: experiment, two run searches (what the report adds)."""
    os.environ["MLFLOW_TRACKING_URI"] = uri
    from mlci.config import MlflowConfig
    from mlci.report.mlflow_runs import read_runs

    times = []
    for _ in range(reps + 1):
        started = time.perf_counter()
        runs = read_runs(MlflowConfig(experiment="bench"), shas[0], shas[1])
        times.append(time.perf_counter() - started)
        assert runs.base.run is not None and runs.head.run is not None
    return statistics.median(times[1:])


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def client_install_size(tmp: Path) -> tuple[int, float]:
    """Bytes and seconds that `mlflow-skinny` adds to an empty environment (uv, held to the test lock)."""
    uv = shutil.which("uv")
    if uv is None:
        return 0, 0.0
    venv = tmp / "skinny"
    subprocess.run([uv, "venv", "-q", str(venv), "--python", sys.executable], check=True)
    empty = folder_size(venv)
    started = time.perf_counter()
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(venv / "bin" / "python"),
            "mlflow-skinny",
            "-c",
            str(ROOT / "constraints" / "test.txt"),
        ],
        check=True,
    )
    return folder_size(venv) - empty, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--metrics", type=int, default=60)
    parser.add_argument("--mlflow-metrics", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlci-bench-mlflow-") as name:
        tmp = Path(name)
        (tmp / "server").mkdir()
        proc, uri = start_server(tmp / "server")
        try:
            shas = build_repo(tmp / "repo", args.metrics)
            log_runs(uri, shas, args.mlflow_metrics)
            without, with_ = report_times(tmp / "repo", shas[0], shas[1], uri, args.reps)
            lookups = lookup_times(uri, shas, args.reps)
        finally:
            stop(proc)
        ours = (
            folder_size(SRC / "mlci" / "mlflow") + (SRC / "mlci" / "report" / "mlflow_runs.py").stat().st_size
        )
        ours += (SRC / "mlci" / "deploy" / "targets" / "mlflow.py").stat().st_size
        skinny, seconds = client_install_size(tmp)
    print(
        f"mlci report, median of {args.reps}: {without:.2f} s without MLflow, {with_:.2f} s with "
        f"({args.mlflow_metrics} MLflow metrics per run): +{with_ - without:.2f} s ({with_ / without:.2f}x)"
    )
    print(
        f"the MLflow lookups alone (experiment + 2 run searches), median of {args.reps}: {lookups * 1000:.0f} ms"
    )
    print(
        f"install: mlci's MLflow support adds {ours / 1024:.0f} KiB of its own source and no dependency; "
        f"mlflow-skinny would add {skinny / 2**20:.0f} MiB ({seconds:.1f} s with uv)"
    )


if __name__ == "__main__":
    main()
