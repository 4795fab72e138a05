"""What reading the current data where it lands costs `mlci monitor`: a window of a hive-partitioned
Parquet data set in a bucket (moto's S3 server on loopback, started here as the tests start it; moto
comes with the test extra), against what a user would run instead: download the window's files (boto3,
as `aws s3 cp --recursive` does), then `mlci monitor` on the local copy.

    python bench/bench_object_storage.py [--rows 2000000] [--days 8] [--window 2] [--reps 3]

The data set has --days daily partitions (`date=.../part-0.parquet`, --rows rows in all, 4 columns); the
window is the last --window days. Each repetition times, alternating:

  url        `mlci monitor --current s3://BUCKET/events/ --where 'date >= D'` (lists, reads the window)
  download   the window's files fetched to a fresh folder, then `mlci monitor --current FOLDER`
  url-all    `mlci monitor --current s3://BUCKET/events/` (every partition: what --where saves)

Prints a markdown table of medians (wall time, peak RSS of the mlci process) and the ratio url/download.
Loopback only: a real bucket adds its latency to both sides alike.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(1, str(HERE.parent))

from tests.testing.storage import CREDENTIALS, moto_server  # noqa: E402


def _write(base: Path, rows: int, days: int) -> tuple[Path, list[Path]]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)

    def table(n: int, shift: float) -> pa.Table:
        return pa.table(
            {
                "amount": rng.normal(10 + shift, 2, n),
                "latency": rng.exponential(1 + shift, n),
                "count": rng.poisson(3, n).astype("float64"),
                "channel": rng.choice(["web", "app", "store"], n),
            }
        )

    pq.write_table(table(200_000, 0.0), base / "reference.parquet")
    files = []
    for day in range(days):
        path = base / "tree" / f"date=2026-12-{day + 1:02d}" / "part-0.parquet"
        path.parent.mkdir(parents=True)
        pq.write_table(table(rows // days, 0.2 * day), path, row_group_size=200_000)
        files.append(path)
    return base / "reference.parquet", files


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one mlci run; its exit must be 0."""
    started = time.monotonic()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024


def _download(client: object, bucket: str, keys: list[str], dest: Path) -> None:
    for key in keys:
        target = dest / key
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(target))  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--window", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="mlci-bench-store-"))
    try:
        ref, files = _write(base, args.rows, args.days)
        with moto_server(base / "moto.log") as (server, _):
            client = server.client()
            bucket = server.bucket()
            keys = [f"events/{p.parent.name}/{p.name}" for p in files]
            for path, key in zip(files, keys, strict=True):
                client.upload_file(str(path), bucket, key)
            env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": server.endpoint}
            first = files[-args.window].parent.name.split("=", 1)[1]
            mlci = [sys.executable, "-m", "mlci", "monitor", "--reference", str(ref), "--format", "json"]
            url = [*mlci, "--current", f"s3://{bucket}/events/", "--where", f"date >= {first}"]
            every = [*mlci, "--current", f"s3://{bucket}/events/"]
            times: dict[str, list[tuple[float, float]]] = {"url": [], "download": [], "url-all": []}
            for _ in range(args.reps):
                times["url"].append(_timed(url, env, base))
                local = base / "copy"
                shutil.rmtree(local, ignore_errors=True)
                started = time.monotonic()
                _download(client, bucket, keys[-args.window :], local)
                fetched = time.monotonic() - started
                seconds, rss = _timed([*mlci, "--current", str(local)], env, base)
                times["download"].append((fetched + seconds, rss))
                times["url-all"].append(_timed(every, env, base))
        size = sum(p.stat().st_size for p in files[-args.window :]) / 2**20
        print(
            f"{args.rows:,} rows in {args.days} daily partitions; window: {args.window} days ({size:.0f} MiB)"
        )
        print("| run | wall s (median) | peak RSS MiB (median) |\n|---|---|---|")
        for name, runs in times.items():
            print(
                f"| {name} | {statistics.median(t for t, _ in runs):.1f} | {statistics.median(m for _, m in runs):.0f} |"
            )
        ratio = statistics.median(t for t, _ in times["url"]) / statistics.median(
            t for t, _ in times["download"]
        )
        print(f"url / download: {ratio:.2f}×  (load average {os.getloadavg()[0]:.1f})")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
