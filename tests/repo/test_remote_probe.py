"""The remote's endpoint is probed with one TCP connection before DVC would retry an unreachable server
for minutes: against real sockets on loopback (a listener that counts the connections it accepts, a
port nothing listens on, a host name that cannot resolve), and through `mlci train` in a real project.

Behind a proxy the probe is skipped (the SDK would not connect directly); NO_PROXY brings it back.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mlci.repo import endpoint as ep
from mlci.repo.remote import Remote, unreachable
from tests.testing.fixtures import ExampleRepo, run_cli
from tests.testing.storage import free_port

NOWHERE = "http://mlci-no-such-host.invalid:9000"  # .invalid never resolves (RFC 2606)


class Listener:
    """A TCP server on a free loopback port that never answers a request: it only counts the connections
    that reached it (the kernel completes the handshake and queues each one; `accepted` takes them)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.setblocking(False)
        self.port: int = self.server.getsockname()[1]
        self.count = 0

    def accepted(self) -> int:
        while True:
            try:
                conn, _ = self.server.accept()
            except BlockingIOError:
                return self.count
            conn.close()
            self.count += 1


@contextmanager
def listener() -> Iterator[Listener]:
    server = Listener()
    try:
        yield server
    finally:
        server.server.close()


def s3(endpoint: str) -> Remote:
    return Remote(name="storage", url="s3://bucket/store", options={"endpointurl": endpoint})


def connection_string(endpoint: str) -> str:
    return f"DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5;BlobEndpoint={endpoint}/acct;"


def test_a_server_that_answers_is_probed_once_per_process() -> None:
    with listener() as server:
        remote = s3(f"http://127.0.0.1:{server.port}")
        assert unreachable(remote, env={}) is None
        assert unreachable(remote, env={}) is None
        azure = Remote(name="blobs", url="azure://container/store", options={})
        env = {"AZURE_STORAGE_CONNECTION_STRING": connection_string(f"http://127.0.0.1:{server.port}")}
        assert unreachable(azure, env=env) is None  # the same endpoint: no second connection
        assert server.accepted() == 1


def test_a_refused_connection_names_the_remote_the_endpoint_and_the_fix() -> None:
    port = free_port()
    azure = Remote(name="blobs", url="azure://container/store", options={})
    env = {"AZURE_STORAGE_CONNECTION_STRING": connection_string(f"http://127.0.0.1:{port}")}
    failure = unreachable(azure, env=env)
    assert failure is not None
    assert failure.message.startswith("DVC remote 'blobs' (azure://container/store) is unreachable")
    assert f"127.0.0.1:{port} was refused" in failure.message
    assert f"http://127.0.0.1:{port}/acct" in failure.message
    assert "AccountKey" not in failure.message and "a2V5" not in failure.message  # no credentials
    assert failure.hint and "BlobEndpoint" in failure.hint


def test_an_endpoint_that_does_not_resolve_is_unreachable() -> None:
    failure = unreachable(s3(NOWHERE), env={})
    assert failure is not None
    assert "DVC remote 'storage'" in failure.message and "is unreachable" in failure.message
    assert "mlci-no-such-host.invalid does not resolve" in failure.message
    assert failure.hint and "endpointurl" in failure.hint


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "ALL_PROXY"])
def test_behind_a_proxy_the_probe_is_skipped_unless_no_proxy_exempts_the_host(variable: str) -> None:
    with listener() as server:
        remote = s3(f"http://127.0.0.1:{server.port}")
        proxy = {variable: f"http://127.0.0.1:{free_port()}"}
        assert unreachable(remote, env=proxy) is None
        assert server.accepted() == 0  # no direct connection: the SDK would go through the proxy
        assert unreachable(remote, env={**proxy, "NO_PROXY": "localhost,127.0.0.1"}) is None
        assert server.accepted() == 1
    down = s3(f"http://127.0.0.1:{free_port()}")
    assert unreachable(down, env={variable: "http://127.0.0.1:1"}) is None  # said nothing: DVC will
    assert unreachable(down, env={variable: "http://127.0.0.1:1", "no_proxy": "*"}) is not None


def test_each_backend_s_endpoint_is_read_as_its_plugin_reads_it(tmp_path: Path) -> None:
    def where(scheme: str, url: str, options: dict[str, str], env: dict[str, str]) -> str | None:
        found = ep.locate(scheme, url, options, env)
        return f"{found.host}:{found.port}" if found else None

    assert where("s3", "s3://b/p", {"endpointurl": "https://minio.example:9000"}, {}) == "minio.example:9000"
    assert where("s3", "s3://b/p", {}, {"AWS_ENDPOINT_URL_S3": "http://s3.example"}) == "s3.example:80"
    assert where("s3", "s3://b/p", {}, {"AWS_ENDPOINT_URL": "https://all.example"}) == "all.example:443"
    assert where("s3", "s3://b/p", {}, {}) is None  # AWS picks a regional endpoint: not known here
    suffix = (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn"
    )
    assert where("azure", "azure://c/p", {}, {"AZURE_STORAGE_CONNECTION_STRING": suffix}) == (
        "acct.blob.core.chinacloudapi.cn:443"
    )
    local = {"connection_string": "UseDevelopmentStorage=true"}
    assert where("azure", "azure://c/p", local, {}) == "127.0.0.1:10000"
    assert where("azure", "azure://c/p", {"account_name": "acct"}, {}) == "acct.blob.core.windows.net:443"
    assert where("gs", "gs://b/p", {"endpointurl": "http://127.0.0.1:4443"}, {}) == "127.0.0.1:4443"
    assert where("gs", "gs://b/p", {}, {}) is None
    assert where("https", "https://dvc.example/store", {}, {}) == "dvc.example:443"
    assert where("webdav", "webdav://dav.example:8080/store", {}, {}) == "dav.example:8080"
    home = {"HOME": str(tmp_path)}
    assert where("ssh", "ssh://user@host.example/store", {"port": "2222"}, home) == "host.example:2222"
    assert where("ssh", "ssh://host.example:2200/store", {}, home) == "host.example:2200"
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text("Host host.example\n  ProxyJump bastion\n")
    assert where("ssh", "ssh://host.example/store", {}, home) is None  # SSH's own config decides
    assert where("local", "/mnt/store", {}, {}) is None


@pytest.mark.slow
def test_train_with_an_endpoint_that_does_not_resolve_exits_2_before_any_stage(
    example_repo: ExampleRepo,
) -> None:
    example_repo.dvc("remote", "add", "-f", "cloud", "s3://bucket/store")
    example_repo.dvc("remote", "modify", "cloud", "endpointurl", NOWHERE)
    example_repo.dvc("remote", "default", "cloud")
    example_repo.set_param("train.n_estimators", 17)
    lock = (example_repo.root / "dvc.lock").read_bytes()
    done = run_cli(
        "train", cwd=example_repo.root, env={"AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret"}
    )
    assert done.returncode == 2, done.stderr
    assert "DVC remote 'cloud' (s3://bucket/store) is unreachable" in done.stderr
    assert "mlci-no-such-host.invalid does not resolve" in done.stderr
    assert "hint:" in done.stderr and "endpointurl" in done.stderr
    assert "Traceback" not in done.stderr
    assert (example_repo.root / "dvc.lock").read_bytes() == lock  # no stage ran
