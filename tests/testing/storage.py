"""Real storage servers on loopback for DVC remotes, each started as a process for the session: moto's
S3 server mode and Azurite, Microsoft's Azure Storage emulator (blob service only).

A test gets an `S3Server` or an `AzureServer`: its endpoint, a fresh bucket or container, and the
environment a user would set (the AWS variables DVC's S3 plugin reads; AZURE_STORAGE_CONNECTION_STRING
for DVC's Azure plugin). The servers are moto's own `moto_server` and Azurite's `azurite-blob`, so DVC
talks to them over HTTP exactly as it talks to S3 and Azure. Both share one interface (`Storage`), so a
test can be parametrised over the backends.

Azurite is an npm package: `.ci/run` installs it under `.venv/node` (the venv running the tests);
elsewhere set MLCI_AZURITE to its `azurite-blob` executable. Without node the Azure tests skip, saying
so; with node but no Azurite they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "mlci-test-key",
    "AWS_SECRET_ACCESS_KEY": "mlci-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Storage(Protocol):
    """What a backend's test needs: a fresh bucket/container, its objects, the remote's DVC config."""

    scheme: str
    endpoint: str

    def bucket(self) -> str: ...

    def keys(self, bucket: str) -> list[str]: ...

    def delete(self, bucket: str, key: str) -> None: ...

    def copy(self, source: str, dest: str, keys: list[str]) -> None: ...

    def env(self) -> dict[str, str]: ...

    def remote_options(self) -> dict[str, str]: ...

    def down(self) -> tuple[dict[str, str], dict[str, str]]: ...


@dataclass
class S3Server:
    endpoint: str
    scheme: str = "s3"

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, **_boto_credentials())

    def bucket(self) -> str:
        name = f"mlci-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def delete(self, bucket: str, key: str) -> None:
        self.client().delete_object(Bucket=bucket, Key=key)

    def copy(self, source: str, dest: str, keys: list[str]) -> None:
        client = self.client()
        for key in keys:
            client.copy_object(Bucket=dest, Key=key, CopySource={"Bucket": source, "Key": key})

    def env(self) -> dict[str, str]:
        return dict(CREDENTIALS)

    def remote_options(self) -> dict[str, str]:
        """`dvc remote modify NAME KEY VALUE` for each: what points DVC at this server."""
        return {"endpointurl": self.endpoint}

    def down(self) -> tuple[dict[str, str], dict[str, str]]:
        """(remote options, env) that point at a port nothing listens on."""
        return {"endpointurl": f"http://127.0.0.1:{free_port()}"}, self.env()


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }


def _moto_server() -> str:
    found = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
    assert found, "moto_server is missing: install the test extra (`pip install -e '.[test]'`)"
    return found


@contextmanager
def _serving(
    command: list[str], port: int, log: Path, what: str, env: dict[str, str], cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process until the block ends (a test may stop it early: a server that went down);
    fail with its log when it does not listen in 30 s."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}, cwd=cwd
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{what} did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


@contextmanager
def moto_server(
    log: Path, env: dict[str, str] = CREDENTIALS
) -> Iterator[tuple[S3Server, subprocess.Popen[bytes]]]:
    """moto's S3 server on a free loopback port until the block ends, and its process."""
    port = free_port()
    with _serving(
        [_moto_server(), "-H", "127.0.0.1", "-p", str(port)], port, log, "moto_server", env
    ) as proc:
        yield S3Server(f"http://127.0.0.1:{port}"), proc


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port for the whole session (each test makes its own bucket)."""
    with moto_server(tmp_path_factory.mktemp("moto") / "server.log") as (server, _):
        yield server


@pytest.fixture(scope="session")
def s3_strict_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second moto server with its IAM emulation on from the first request: it knows no access key,
    so it refuses every request's credentials (InvalidAccessKeyId, 403) as S3 refuses a wrong key."""
    env = {**CREDENTIALS, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    with moto_server(tmp_path_factory.mktemp("moto") / "server.log", env) as (server, _):
        yield server.endpoint


# Azurite's well-known development account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azure_connection_string(endpoint: str, key: str = AZURITE_KEY) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};"
        f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};"
    )


@dataclass
class AzureServer:
    endpoint: str
    scheme: str = "azure"

    def client(self):  # type: ignore[no-untyped-def]
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(azure_connection_string(self.endpoint))

    def bucket(self) -> str:
        name = f"mlci-{uuid.uuid4().hex[:12]}"
        self.client().create_container(name)
        return name

    def keys(self, bucket: str) -> list[str]:
        return [blob.name for blob in self.client().get_container_client(bucket).list_blobs()]

    def delete(self, bucket: str, key: str) -> None:
        self.client().get_container_client(bucket).delete_blob(key)

    def copy(self, source: str, dest: str, keys: list[str]) -> None:
        client = self.client()
        src, dst = client.get_container_client(source), client.get_container_client(dest)
        for key in keys:
            dst.upload_blob(key, src.download_blob(key).readall())

    def env(self) -> dict[str, str]:
        return {"AZURE_STORAGE_CONNECTION_STRING": azure_connection_string(self.endpoint)}

    def wrong_env(self) -> dict[str, str]:
        wrong = "d3Jvbmcta2V5LWZvci1henVyaXRlLWluLW1sY2ktdGVzdHM="  # base64, like a real key
        return {"AZURE_STORAGE_CONNECTION_STRING": azure_connection_string(self.endpoint, wrong)}

    def remote_options(self) -> dict[str, str]:
        return {}  # the connection string in the environment names the endpoint

    def down(self) -> tuple[dict[str, str], dict[str, str]]:
        nowhere = f"http://127.0.0.1:{free_port()}"
        return {}, {"AZURE_STORAGE_CONNECTION_STRING": azure_connection_string(nowhere)}


def _azurite() -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: Azurite, the Azure tests' storage server, runs on node")
    found = os.environ.get("MLCI_AZURITE") or str(
        Path(sys.prefix) / "node" / "node_modules" / ".bin" / "azurite-blob"
    )
    assert Path(found).is_file(), (
        f"Azurite is missing ({found}): `npm install --prefix .venv/node azurite@3.37.0` "
        "(what .ci/run does), or set MLCI_AZURITE to an azurite-blob executable"
    )
    return [found]


@pytest.fixture(scope="session")
def azure_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureServer]:
    """Azurite's blob service on a free loopback port for the whole session, in memory (each test makes
    its own container). A wrong account key is refused (403), as Azure refuses it."""
    command = _azurite()
    port = free_port()
    folder = tmp_path_factory.mktemp("azurite")
    options = ["--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence"]
    options += ["--skipApiVersionCheck", "--loose", "--disableTelemetry"]
    with _serving([*command, *options], port, folder / "server.log", "Azurite", {}, cwd=folder):
        yield AzureServer(f"http://127.0.0.1:{port}")
