"""`mlci monitor --current URL`: hive-partitioned Parquet in a bucket (moto's S3 server, Azurite) and a
file over HTTP, read with a `--where` window; pyarrow's own hive-partitioned dataset reader, filtered
the same way and written to one local file, is the oracle of every number. Each storage fault (refused
credentials, a missing bucket, an empty prefix, an endpoint that does not answer, a missing plugin) is
exit 2 naming the URL."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlci.onboarding import example
from mlci.repo.git import git
from tests.testing.fixtures import run_cli
from tests.testing.http_files import serving
from tests.testing.storage import AzureServer, S3Server, free_port

pytestmark = pytest.mark.slow

DATES = ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05"]
REGIONS = ["eu", "us"]
WINDOW = ["date >= 2026-12-03", "region == eu"]


def _table(rng: np.random.Generator, rows: int, shift: float) -> Any:
    import pyarrow as pa

    return pa.table(
        {
            "amount": rng.normal(10 + shift, 2, rows),
            "channel": rng.choice(
                ["web", "app", "store"], rows, p=[0.5, 0.3, 0.2] if shift < 1 else [0.2, 0.3, 0.5]
            ),
        }
    )


def partitioned(folder: Path, seed: int) -> dict[str, bytes]:
    """A hive-partitioned dataset (date=/region=/part-0.parquet), later dates shifted; key -> bytes. The
    oldest partition holds a file that is not Parquet: a read of it fails the run."""
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    objects: dict[str, bytes] = {}
    for i, date in enumerate(DATES):
        for region in REGIONS:
            buffer = io.BytesIO()
            pq.write_table(_table(rng, int(rng.integers(300, 700)), shift=1.5 * (i >= 3)), buffer)
            objects[f"date={date}/region={region}/part-0.parquet"] = buffer.getvalue()
    objects[f"date={DATES[0]}/region=eu/part-1.parquet"] = b"not parquet: never to be opened"
    objects["_SUCCESS"] = b""
    for key, body in objects.items():
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        (folder / key).write_bytes(body)
    return objects


def reference(folder: Path, seed: int) -> Path:
    import pyarrow.parquet as pq

    path = folder / "reference.parquet"
    pq.write_table(_table(np.random.default_rng(seed + 1), 1500, 0.0), path)
    return path


def oracle(tree: Path, out: Path) -> Path:
    """pyarrow's hive-partitioned dataset of `tree`, filtered to WINDOW (as pyarrow's expression), in one
    file: what the window holds, as pyarrow reads it (partition values as text)."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    schema = pa.schema([("date", pa.string()), ("region", pa.string())])
    files = sorted(p for p in tree.rglob("part-0.parquet"))
    dataset = ds.dataset(
        [str(p) for p in files],
        partitioning=ds.partitioning(schema, flavor="hive"),
        partition_base_dir=str(tree),
    )
    table = dataset.to_table(filter=(ds.field("date") >= "2026-12-03") & (ds.field("region") == "eu"))
    pq.write_table(table, out)
    return out


def monitor(cwd: Path, env: dict[str, str], *args: str) -> Any:
    done = run_cli("monitor", "--format", "json", *args, cwd=cwd, env=env)
    return done


def report(done: Any) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    body: dict[str, Any] = json.loads(done.stdout)
    return body


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """The report's findings: every number and verdict, without the time and where the data came from."""
    return {k: v for k, v in body.items() if k not in ("generated_at", "current", "reference", "summary")} | {
        "rows": body["current"]["rows"]
    }


def assert_same(got: Any, want: Any, where: str = "report") -> None:
    """Equal, but for the last bits of floats: a sum over the files' chunks rounds differently from
    a sum over one file's (relative 1e-9)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for key in want:
            assert_same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(want, float) and not isinstance(want, bool):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-300), where
    else:
        assert got == want, where


def upload_s3(s3: S3Server, bucket: str, prefix: str, objects: dict[str, bytes]) -> None:
    client = s3.client()
    for key, body in objects.items():
        client.put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=body)


def window_files(scheme: str, bucket: str, prefix: str) -> list[str]:
    return [
        f"{scheme}://{bucket}/{prefix}/date={d}/region=eu/part-0.parquet" for d in DATES if d >= "2026-12-03"
    ]


def test_s3_window_reads_only_its_partitions_and_reports_as_pyarrow_reads_them(
    s3_server: S3Server, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    objects = partitioned(tree, seed=1)
    bucket = s3_server.bucket()
    upload_s3(s3_server, bucket, "events", objects)
    ref = reference(tmp_path, seed=1)
    env = {**s3_server.env(), "AWS_ENDPOINT_URL": s3_server.endpoint}
    where = [a for w in WINDOW for a in ("--where", w)]
    remote = report(
        monitor(tmp_path, env, "--current", f"s3://{bucket}/events/", *where, "--reference", str(ref))
    )
    local = oracle(tree, tmp_path / "window.parquet")
    expected = report(monitor(tmp_path, env, "--current", str(local), "--reference", str(ref)))
    assert_same(comparable(remote), comparable(expected))
    assert remote["current"]["paths"] == window_files("s3", bucket, "events")
    assert remote["drift_detected"] is True  # the window holds the shifted days
    assert remote["schema"]["new"] == ["date", "region"]


def test_a_glob_over_partition_folders_and_the_config_keys(s3_server: S3Server, tmp_path: Path) -> None:
    """monitor.current (a URL glob) and monitor.where in mlci.yaml, as the scheduled `command: auto` runs it."""
    tree = tmp_path / "tree"
    objects = partitioned(tree, seed=2)
    bucket = s3_server.bucket()
    upload_s3(s3_server, bucket, "landing/events", objects)
    ref = reference(tmp_path, seed=2)
    (tmp_path / "mlci.yaml").write_text(
        "monitor:\n"
        f"  current: s3://{bucket}/landing/events/date=2026-12-0[345]/\n"
        "  where:\n    - region in (eu)\n"
    )
    env = {**s3_server.env(), "AWS_ENDPOINT_URL_S3": s3_server.endpoint}
    remote = report(monitor(tmp_path, env, "--reference", str(ref)))
    local = oracle(tree, tmp_path / "window.parquet")
    expected = report(monitor(tmp_path, env, "--current", str(local), "--reference", str(ref)))
    assert_same(comparable(remote), comparable(expected))
    assert remote["current"]["paths"] == window_files("s3", bucket, "landing/events")


def test_azure_window_as_on_s3(azure_server: AzureServer, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    objects = partitioned(tree, seed=3)
    container = azure_server.bucket()
    client = azure_server.client().get_container_client(container)
    for key, body in objects.items():
        client.upload_blob(f"events/{key}", body)
    ref = reference(tmp_path, seed=3)
    where = [a for w in WINDOW for a in ("--where", w)]
    env = azure_server.env()
    remote = report(
        monitor(tmp_path, env, "--current", f"az://{container}/events", *where, "--reference", str(ref))
    )
    local = oracle(tree, tmp_path / "window.parquet")
    expected = report(monitor(tmp_path, env, "--current", str(local), "--reference", str(ref)))
    assert_same(comparable(remote), comparable(expected))
    assert remote["current"]["paths"] == window_files("az", container, "events")


def test_the_dvc_remote_on_the_same_bucket_lends_its_endpoint(s3_server: S3Server, tmp_path: Path) -> None:
    """The DVC remote's `endpointurl` wins over the environment's (here: a port nothing listens on)."""
    tree = tmp_path / "tree"
    objects = partitioned(tree, seed=4)
    bucket = s3_server.bucket()
    upload_s3(s3_server, bucket, "events", objects)
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    example.dvc(root, "init", "-q")
    example.dvc(root, "remote", "add", "-d", "storage", f"s3://{bucket}/dvcstore")
    example.dvc(root, "remote", "modify", "storage", "endpointurl", s3_server.endpoint)
    ref = reference(tmp_path, seed=4)
    env = {**s3_server.env(), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    url = f"s3://{bucket}/events/date=2026-12-05/"
    body = report(monitor(root, env, "--current", url, "--reference", str(ref)))
    assert body["current"]["paths"] == [f"{url}region={r}/part-0.parquet" for r in REGIONS]
    # without the remote, the environment's endpoint is used: it does not answer, and the error says so
    failed = monitor(tmp_path, env, "--current", url, "--reference", str(ref))
    assert failed.returncode == 2, failed.stderr
    assert url in failed.stderr and "unreachable" in failed.stderr and "AWS_ENDPOINT_URL" in failed.stderr


def test_the_dvc_remote_s_local_connection_string_reads_an_azure_container(
    azure_server: AzureServer, tmp_path: Path
) -> None:
    """`dvc remote modify --local NAME connection_string ...` (config.local, never committed) is what
    reads the container: the environment has no Azure credentials at all."""
    from tests.testing.storage import azure_connection_string

    objects = partitioned(tmp_path / "tree", seed=14)
    container = azure_server.bucket()
    client = azure_server.client().get_container_client(container)
    for key, body in objects.items():
        client.upload_blob(f"events/{key}", body)
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    example.dvc(root, "init", "-q")
    example.dvc(root, "remote", "add", "-d", "storage", f"azure://{container}/dvcstore")
    secret = azure_connection_string(azure_server.endpoint)
    example.dvc(root, "remote", "modify", "--local", "storage", "connection_string", secret)
    ref = reference(tmp_path, seed=14)
    env = {"AZURE_STORAGE_CONNECTION_STRING": "", "AZURE_STORAGE_ACCOUNT": ""}
    url = f"az://{container}/events/"
    done = monitor(root, env, "--current", url, "--where", "date == 2026-12-05", "--reference", str(ref))
    body = report(done)
    assert body["current"]["paths"] == [f"{url}date=2026-12-05/region={r}/part-0.parquet" for r in REGIONS]
    assert secret not in done.stdout + done.stderr


def test_reference_from_a_bucket(s3_server: S3Server, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    ref = reference(tmp_path, seed=5)
    bucket = s3_server.bucket()
    s3_server.client().put_object(Bucket=bucket, Key="train/reference.parquet", Body=ref.read_bytes())
    current = tmp_path / "current.parquet"
    pq.write_table(_table(np.random.default_rng(9), 800, 0.0), current)
    env = {**s3_server.env(), "AWS_ENDPOINT_URL": s3_server.endpoint}
    remote = report(monitor(tmp_path, env, "--current", str(current), "--reference", f"s3://{bucket}/train/"))
    expected = report(monitor(tmp_path, env, "--current", str(current), "--reference", str(ref)))
    assert_same(comparable(remote), comparable(expected))
    assert remote["reference"]["files"] == 1


def test_a_file_over_http(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    served = tmp_path / "served"
    served.mkdir()
    pq.write_table(_table(np.random.default_rng(6), 900, 1.5), served / "today.parquet")
    ref = reference(tmp_path, seed=6)
    with serving(served) as base:
        url = f"{base}/today.parquet"
        remote = report(monitor(tmp_path, {}, "--current", url, "--reference", str(ref)))
        missing = monitor(tmp_path, {}, "--current", f"{base}/gone.parquet", "--reference", str(ref))
        globbed = monitor(tmp_path, {}, "--current", f"{base}/*.parquet", "--reference", str(ref))
        signed = report(
            monitor(tmp_path, {}, "--current", f"{url}?X-Amz-Signature=abcdef123456", "--reference", str(ref))
        )
    expected = report(
        monitor(tmp_path, {}, "--current", str(served / "today.parquet"), "--reference", str(ref))
    )
    assert_same(comparable(remote), comparable(expected))
    assert remote["current"]["paths"] == [url]
    _fails(missing, f"{base}/gone.parquet", "no such file")
    _fails(globbed, f"{base}/*.parquet", "cannot be globbed")
    assert_same(comparable(signed), comparable(expected))  # a pre-signed URL: Parquet by its path
    assert "abcdef123456" not in json.dumps(signed)  # the signature never shows


def _fails(done: Any, url: str, *says: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert url in done.stderr, done.stderr
    for text in says:
        assert text in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_storage_faults_exit_2_naming_the_url(
    s3_server: S3Server, s3_strict_endpoint: str, tmp_path: Path
) -> None:
    ref = str(reference(tmp_path, seed=7))
    bucket = s3_server.bucket()
    upload_s3(s3_server, bucket, "events", {"date=2026-12-01/part-0.parquet": b"x"})
    upload_s3(s3_server, bucket, "notes", {"readme.txt": b"hi"})
    env = {**s3_server.env(), "AWS_ENDPOINT_URL": s3_server.endpoint}
    gone = f"s3://mlci-no-such-bucket-{free_port()}/events/"
    _fails(monitor(tmp_path, env, "--current", gone, "--reference", ref), gone, "does not exist")
    empty = f"s3://{bucket}/nothing-here/"
    _fails(monitor(tmp_path, env, "--current", empty, "--reference", ref), empty, "is empty")
    others = f"s3://{bucket}/notes/"
    _fails(monitor(tmp_path, env, "--current", others, "--reference", ref), others, "no .csv or .parquet")
    broken = f"s3://{bucket}/events/date=2026-12-01/part-0.parquet"
    _fails(monitor(tmp_path, env, "--current", broken, "--reference", ref), broken, "valid CSV", "Parquet")
    refused = {**env, "AWS_ENDPOINT_URL": s3_strict_endpoint}
    url = f"s3://{bucket}/events/"
    _fails(
        monitor(tmp_path, refused, "--current", url, "--reference", ref), url, "refused", "AWS_ACCESS_KEY_ID"
    )
    down = {**env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    started = time.monotonic()
    _fails(monitor(tmp_path, down, "--current", url, "--reference", ref), url, "unreachable")
    assert time.monotonic() - started < 60  # one probe, not the SDK's retries


def test_a_share_of_the_listing_reads_only_its_files_and_hashes_from_the_listing(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `mlci profile --partition K/N` does with a `Data`: `dataclasses.replace` narrows it to a share
    of its files; the share reads those files only. The content hash comes from the listing (ETag, size,
    time): it is the same after the objects are gone, as nothing is downloaded for it."""
    import dataclasses

    from mlci.repo.tables import open_data

    bucket = s3_server.bucket()
    objects = partitioned(tmp_path / "tree", seed=12)
    del objects[f"date={DATES[0]}/region=eu/part-1.parquet"]
    upload_s3(s3_server, bucket, "events", objects)
    for name, value in {**s3_server.env(), "AWS_ENDPOINT_URL": s3_server.endpoint}.items():
        monkeypatch.setenv(name, value)
    with open_data(tmp_path, f"s3://{bucket}/events/") as data:
        assert data.files == sorted(data.files) and len(data.files) == len(DATES) * len(REGIONS)
        share = dataclasses.replace(
            data, files=data.files[2:4], names=data.names[2:4], hashes=data.hashes[2:4]
        )
        sizes = [b.num_rows for b in share.batches(chunk_rows=100)]  # streamed: a chunk at a time
        dates = {v for b in share.batches(columns=["date"]) for v in b.column("date").to_pylist()}
        digest = share.content_hash()
        for url in data.files:
            s3_server.delete(bucket, url.split("/", 3)[3])
        assert share.content_hash() == digest
    import pyarrow.parquet as pq

    expected = [objects[str(u).split("/events/", 1)[1]] for u in data.files[2:4]]
    assert sum(sizes) == sum(pq.read_metadata(io.BytesIO(b)).num_rows for b in expected)
    assert max(sizes) <= 100 < sum(sizes)
    assert dates == {DATES[1]}


def test_where_faults_exit_2(s3_server: S3Server, tmp_path: Path) -> None:
    ref = str(reference(tmp_path, seed=8))
    bucket = s3_server.bucket()
    upload_s3(s3_server, bucket, "events", partitioned(tmp_path / "tree", seed=8))
    env = {**s3_server.env(), "AWS_ENDPOINT_URL": s3_server.endpoint}
    url = f"s3://{bucket}/events/"
    unknown = monitor(tmp_path, env, "--current", url, "--where", "country == fr", "--reference", ref)
    _fails(unknown, url, "'country' is not a partition column", "date, region")
    none = monitor(tmp_path, env, "--current", url, "--where", "date > 2027-01-01", "--reference", ref)
    _fails(none, url, "keeps none")
    bad = monitor(tmp_path, env, "--current", url, "--where", "date between 1 and 2", "--reference", ref)
    assert bad.returncode == 2 and "is not a condition" in bad.stderr, bad.stderr


def test_azure_faults_exit_2_naming_the_url(azure_server: AzureServer, tmp_path: Path) -> None:
    ref = str(reference(tmp_path, seed=10))
    container = azure_server.bucket()
    azure_server.client().get_container_client(container).upload_blob(
        "events/date=2026-12-01/a.parquet", b"x"
    )
    url = f"azure://{container}/events/"
    done = monitor(tmp_path, azure_server.wrong_env(), "--current", url, "--reference", ref)
    _fails(done, url, "refused", "AZURE_STORAGE_CONNECTION_STRING")
    env = azure_server.env()
    gone = f"az://mlci-no-such-container-{free_port()}/events/"
    _fails(monitor(tmp_path, env, "--current", gone, "--reference", ref), gone, "does not exist")
    empty = f"az://{container}/nothing-here/"
    _fails(monitor(tmp_path, env, "--current", empty, "--reference", ref), empty, "is empty")
    _, down = azure_server.down()
    _fails(monitor(tmp_path, down, "--current", url, "--reference", ref), url, "unreachable", "BlobEndpoint")


def test_a_scheme_without_its_plugin_names_the_package(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("gcsfs") is not None:
        pytest.skip("gcsfs is installed here: the missing-plugin message cannot be shown")
    ref = str(reference(tmp_path, seed=11))
    done = monitor(tmp_path, {}, "--current", "gs://a-bucket/events/", "--reference", ref)
    assert done.returncode == 2, done.stderr
    assert "gs://" in done.stderr and "dvc-gs" in done.stderr


def test_shares_of_a_bucket_window_decide_as_one_pass_over_it(s3_server: S3Server, tmp_path: Path) -> None:
    """`mlci profile --partition K/3` over a bucket's window (monitor.current and monitor.where), then
    `mlci monitor --profiles`: the same findings as one `mlci monitor` over the window."""
    tree = tmp_path / "tree"
    objects = partitioned(tree, seed=13)
    bucket = s3_server.bucket()
    upload_s3(s3_server, bucket, "events", objects)
    ref = reference(tmp_path, seed=13)
    (tmp_path / "mlci.yaml").write_text(
        f"monitor:\n  current: s3://{bucket}/events/\n  where: ['date >= 2026-12-02', 'region in (eu, us)']\n"
    )
    env = {**s3_server.env(), "AWS_ENDPOINT_URL": s3_server.endpoint}
    saved = tmp_path / "reference.json"
    whole = report(monitor(tmp_path, env, "--reference", str(ref), "--save-profile", str(saved)))
    # share 3 names the same window on the command line instead of mlci.yaml: the same cut
    given = [
        "--current",
        f"s3://{bucket}/events/",
        "--where",
        "date >= 2026-12-02",
        "--where",
        "region in (eu, us)",
    ]
    for k in (1, 2, 3):
        out = tmp_path / "parts" / f"part-{k}.json"
        done = run_cli(
            "profile", "--partition", f"{k}/3", "--reference-profile", str(saved), "--output", str(out),
            *(given if k == 3 else []), cwd=tmp_path, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    merged = report(
        monitor(
            tmp_path, env, "--profiles", str(tmp_path / "parts" / "*.json"), "--reference-profile", str(saved)
        )
    )
    assert_same(comparable(merged), comparable(whole))
    assert whole["current"]["rows"] == merged["current"]["rows"]
    assert len(whole["current"]["paths"]) == 8  # 4 days × 2 regions; the broken file of day 1 is not read
