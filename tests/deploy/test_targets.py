"""Deploy targets, each against the real thing: a folder store, a shell command, a loopback HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlci.config import DeployConfig, parse_config
from mlci.deploy.targets import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    CommandTarget,
    Delivery,
    LocalTarget,
    WebhookTarget,
    current_version,
    open_target,
    sha256_of,
    target_configs,
)
from mlci.deploy.targets.local import LocalConfig, _move_in, _staging_prefix
from mlci.errors import GateFailed, MlciError


def _model(path: Path, n_estimators: int) -> Path:
    """A real fitted scikit-learn model, pickled as the example's train stage does."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    x, y = load_breast_cancer(return_X_y=True)
    model = RandomForestClassifier(n_estimators=n_estimators, max_depth=3, random_state=0).fit(x, y)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(model))
    return path


def _delivery(artifact: Path, version: str) -> Delivery:
    return Delivery("clf", version, "prod", "c" * 40, artifact, f"# card {version}\n", sha256_of(artifact))


def test_local_store_keeps_versions_and_switches_current(tmp_path: Path) -> None:
    store = tmp_path / "store"
    one, two = _model(tmp_path / "a" / "model.pkl", 5), _model(tmp_path / "b" / "model.pkl", 7)
    target = LocalTarget(store)

    target.deliver(_delivery(one, "v0.0.1"))
    target.deliver(_delivery(two, "v0.0.2"))

    assert current_version(store, "clf") == "v0.0.2"
    current = store / "clf" / "current"
    assert (current / "model.pkl").read_bytes() == two.read_bytes()
    assert (store / "clf" / "v0.0.1" / "model.pkl").read_bytes() == one.read_bytes()
    meta = json.loads((current / "metadata.json").read_text())
    assert meta["sha256"] == hashlib.sha256(two.read_bytes()).hexdigest()
    assert (meta["version"], meta["stage"], meta["commit"]) == ("v0.0.2", "prod", "c" * 40)
    assert (current / "MODEL_CARD.md").read_text() == "# card v0.0.2\n"
    assert sorted(p.name for p in (store / "clf").iterdir()) == ["current", "v0.0.1", "v0.0.2"]


def test_a_delivery_that_breaks_midway_leaves_the_previous_version_current(tmp_path: Path) -> None:
    store = tmp_path / "store"
    good = _model(tmp_path / "good" / "model.pkl", 5)
    LocalTarget(store).deliver(_delivery(good, "v0.0.1"))
    broken = tmp_path / "broken-model"  # a folder artifact whose second file cannot be read
    _model(broken / "a-model.pkl", 6)
    (broken / "b-weights.bin").symlink_to(tmp_path / "missing")
    delivery = Delivery("clf", "v0.0.2", "prod", "d" * 40, broken, "# card\n", "0" * 64)

    with pytest.raises(OSError):
        LocalTarget(store).deliver(delivery)

    assert current_version(store, "clf") == "v0.0.1"
    assert (store / "clf" / "current" / "model.pkl").read_bytes() == good.read_bytes()
    assert sorted(p.name for p in (store / "clf").iterdir()) == ["current", "v0.0.1"]  # no debris


def test_the_next_delivery_clears_what_a_killed_one_left(tmp_path: Path) -> None:
    store = tmp_path / "store"
    model = _model(tmp_path / "model.pkl", 5)
    LocalTarget(store).deliver(_delivery(model, "v0.0.1"))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(gone.stdout)  # a run that no longer exists
    debris = store / "clf" / f"{_staging_prefix('v0.0.2', dead_pid)}k1ll3d"  # SIGKILL during its copy
    debris.mkdir()
    (debris / "model.pkl").write_bytes(model.read_bytes()[:100])

    LocalTarget(store).deliver(_delivery(model, "v0.0.2"))

    assert sorted(p.name for p in (store / "clf").iterdir()) == ["current", "v0.0.1", "v0.0.2"]
    assert current_version(store, "clf") == "v0.0.2"


def test_a_delivery_leaves_another_running_deliverys_staging_folder_alone(tmp_path: Path) -> None:
    """Another run (alive: this very process) is half-way through copying the same version: the
    delivery must not delete its staging folder, or that run's copy fails (it exited 3)."""
    store = tmp_path / "store"
    model = _model(tmp_path / "model.pkl", 5)
    (store / "clf").mkdir(parents=True)
    busy = store / "clf" / f"{_staging_prefix('v0.0.1', os.getpid())}busy"
    busy.mkdir()
    (busy / "model.pkl").write_bytes(model.read_bytes()[:100])

    LocalTarget(store).deliver(_delivery(model, "v0.0.1"))

    assert busy.is_dir() and (busy / "model.pkl").stat().st_size == 100
    assert current_version(store, "clf") == "v0.0.1"
    assert (store / "clf" / "current" / "model.pkl").read_bytes() == model.read_bytes()


def test_a_version_another_run_moved_in_first_is_kept(tmp_path: Path) -> None:
    """Two runs staged the same version; the other renamed its copy in first: this run keeps theirs
    (same sha256) instead of failing on the rename."""
    store = tmp_path / "store"
    model = _model(tmp_path / "model.pkl", 5)
    LocalTarget(store / "other").deliver(_delivery(model, "v0.0.1"))
    (store / "clf").mkdir(parents=True)
    work = store / "clf" / ".v0.0.1.mine"
    shutil.copytree(store / "other" / "clf" / "v0.0.1", work)
    shutil.copytree(store / "other" / "clf" / "v0.0.1", store / "clf" / "v0.0.1")

    _move_in(work, store / "clf" / "v0.0.1", sha256_of(model))

    assert json.loads((store / "clf" / "v0.0.1" / "metadata.json").read_text())["sha256"] == sha256_of(model)


def test_a_folder_artifact_is_copied_whole_with_a_stable_digest(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    _model(folder / "forest.pkl", 4)
    (folder / "meta").mkdir()
    (folder / "meta" / "classes.txt").write_text("0\n1\n")
    store = tmp_path / "store"

    LocalTarget(store).deliver(_delivery(folder, "v1.0.0"))

    copied = store / "clf" / "current" / "model"
    assert (copied / "meta" / "classes.txt").read_text() == "0\n1\n"
    assert sha256_of(copied) == sha256_of(folder)


def test_the_local_target_is_always_there_unless_the_user_redefines_it() -> None:
    config = parse_config({"deploy": {"targets": {"ship": {"type": "command", "run": "true"}}}})
    assert sorted(target_configs(config.deploy)) == ["local", "ship"]
    own = parse_config({"deploy": {"targets": {"local": {"dir": "elsewhere"}}}})
    local = target_configs(own.deploy)["local"]
    assert isinstance(local, LocalConfig) and local.dir == "elsewhere"


def test_unknown_or_incomplete_targets_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(MlciError, match="deploy target 'prod-k8s' is not configured") as unknown:
        open_target(DeployConfig(), "prod-k8s", tmp_path)
    assert unknown.value.hint and "known targets: local" in unknown.value.hint
    empty = DeployConfig(targets={"ship": {"type": "command"}})
    with pytest.raises(MlciError, match="a command target needs `run`"):
        open_target(empty, "ship", tmp_path)


def test_command_target_gets_the_model_in_its_environment(tmp_path: Path) -> None:
    artifact = _model(tmp_path / "model.pkl", 3)
    script = 'cp "$MLCI_ARTIFACT" shipped.pkl && echo "$MLCI_MODEL $MLCI_VERSION $MLCI_STAGE $MLCI_COMMIT" > env.txt'

    CommandTarget(script, tmp_path).deliver(_delivery(artifact, "v0.0.4"))

    assert (tmp_path / "env.txt").read_text().split() == ["clf", "v0.0.4", "prod", "c" * 40]
    assert (tmp_path / "shipped.pkl").read_bytes() == artifact.read_bytes()


def test_a_failing_command_is_a_failed_deploy_with_its_stderr_tail(tmp_path: Path) -> None:
    artifact = _model(tmp_path / "model.pkl", 3)
    script = (
        "echo starting; for i in $(seq 1 30); do echo line $i >&2; done; echo 'cluster said no' >&2; exit 3"
    )

    with pytest.raises(GateFailed) as failed:
        CommandTarget(script, tmp_path).deliver(_delivery(artifact, "v0.0.4"))

    message = failed.value.message
    assert message.startswith("the deploy command exited with 3")
    assert message.rstrip().endswith("cluster said no")
    assert "line 22" in message and "line 21" not in message  # only the last 10 lines


# --- webhook ----------------------------------------------------------------------------------

SECRET = b"s3cret-signing-key"


class _Receiver(BaseHTTPRequestHandler):
    """A deploy webhook that verifies the HMAC, as a user's receiver would."""

    def do_POST(self) -> None:
        server: Any = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        stamp, delivery = self.headers.get(TIMESTAMP_HEADER, ""), self.headers.get(DELIVERY_HEADER, "")
        signed = f"{stamp}.{delivery}.".encode() + body  # as docs/deploy.md tells a receiver
        expected = "sha256=" + hmac.new(SECRET, signed, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(self.headers.get(SIGNATURE_HEADER, ""), expected)
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
        valid = valid and fresh
        status = server.script.pop(0) if server.script else 200
        if not valid:
            status = 401
        server.received.append(
            {"valid": valid, "status": status, "body": json.loads(body), "path": self.path, "id": delivery}
        )
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", server.url.replace("/deploy", "/elsewhere"))
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"no" if status >= 300 else b"ok")

    def do_GET(self) -> None:  # what a followed 301/302 would turn the POST into
        server: Any = self.server
        server.received.append({"valid": False, "status": 200, "body": None, "path": self.path})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.script, server.received = [], []
    server.url = f"http://127.0.0.1:{server.server_address[1]}/deploy"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_webhook_posts_a_signed_description_and_retries_5xx(tmp_path: Path, receiver: Any) -> None:
    artifact = _model(tmp_path / "model.pkl", 3)
    receiver.script = [503, 502]

    WebhookTarget(receiver.url, SECRET, timeout=5, retries=3, backoff=0.01).deliver(
        _delivery(artifact, "v0.0.7")
    )

    assert [r["status"] for r in receiver.received] == [503, 502, 200]
    assert all(r["valid"] for r in receiver.received)
    ids = {r["id"] for r in receiver.received}  # one delivery: a receiver can tell a retry from a new one
    assert len(ids) == 1 and uuid.UUID(ids.pop()).version == 4
    body = receiver.received[-1]["body"]
    assert (body["name"], body["version"], body["stage"]) == ("clf", "v0.0.7", "prod")
    assert body["sha256"] == hashlib.sha256(artifact.read_bytes()).hexdigest()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_webhook_redirect_is_a_failed_delivery_never_followed(
    tmp_path: Path, receiver: Any, status: int
) -> None:
    """Followed, a 301/302 turns the signed POST into a GET elsewhere that "succeeds", and a 307/308
    replays the signed delivery to another host: mlci follows neither."""
    artifact = _model(tmp_path / "model.pkl", 3)
    receiver.script = [status]
    target = WebhookTarget(receiver.url, SECRET, timeout=5, retries=3, backoff=0.01)

    with pytest.raises(GateFailed, match=f"HTTP {status}.*redirect.*/elsewhere"):
        target.deliver(_delivery(artifact, "v0.0.7"))
    assert [r["path"] for r in receiver.received] == ["/deploy"]  # nothing sent to the Location


def test_webhook_with_the_wrong_key_fails_without_retrying(tmp_path: Path, receiver: Any) -> None:
    artifact = _model(tmp_path / "model.pkl", 3)
    target = WebhookTarget(receiver.url, b"not-the-key", timeout=5, retries=3, backoff=0.01)

    with pytest.raises(GateFailed, match="HTTP 401"):
        target.deliver(_delivery(artifact, "v0.0.7"))
    assert len(receiver.received) == 1


def test_webhook_gives_up_after_its_retries_on_a_dead_receiver(tmp_path: Path) -> None:
    artifact = _model(tmp_path / "model.pkl", 3)
    target = WebhookTarget("http://127.0.0.1:9/deploy", SECRET, timeout=2, retries=2, backoff=0.01)

    with pytest.raises(GateFailed, match="ConnectionError"):
        target.deliver(_delivery(artifact, "v0.0.7"))


def test_a_signature_over_the_body_alone_is_refused(tmp_path: Path, receiver: Any) -> None:
    """The old signing (HMAC of the body only) let a captured delivery be replayed at any time; a
    receiver checking the documented string refuses it, and mlci's own deliveries pass."""
    import requests

    artifact = _model(tmp_path / "model.pkl", 3)
    body = json.dumps({"event": "deploy", "version": "v0.0.1"}).encode()
    old = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    headers = {SIGNATURE_HEADER: old, TIMESTAMP_HEADER: str(int(time.time())), DELIVERY_HEADER: "x"}
    assert requests.post(receiver.url, data=body, headers=headers, timeout=5).status_code == 401

    WebhookTarget(receiver.url, SECRET, timeout=5).deliver(_delivery(artifact, "v0.0.7"))
    assert [r["valid"] for r in receiver.received] == [False, True]


def test_a_plain_http_webhook_needs_allow_insecure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCI_WEBHOOK_SECRET", os.urandom(8).hex())
    config = parse_config(
        {"deploy": {"targets": {"hook": {"type": "webhook", "url": "http://127.0.0.1:9/deploy"}}}}
    )
    with pytest.raises(MlciError) as refused:
        open_target(config.deploy, "hook", tmp_path)
    assert refused.value.exit_code == 2
    assert "plain http" in str(refused.value)
    assert "      targets:\n        hook:\n          allow_insecure: true" in str(refused.value)
    allowed = parse_config(
        {
            "deploy": {
                "targets": {
                    "hook": {"type": "webhook", "url": "http://127.0.0.1:9/d", "allow_insecure": True}
                }
            }
        }
    )
    assert isinstance(open_target(allowed.deploy, "hook", tmp_path), WebhookTarget)


class _Drip(BaseHTTPRequestHandler):
    """Answers 200 and then one byte of its body every 0.2 s for 30 s: no single read ever waits
    long enough for a per-read timeout to fire."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        server: Any = self.server
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "150")
        self.end_headers()
        for _ in range(150):
            if server.stop.wait(0.2):
                return
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:  # the client hung up: what the deadline should make it do
                server.hung_up.set()
                return

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def dripping() -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.daemon_threads = True
    server.stop, server.hung_up = threading.Event(), threading.Event()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()


def test_a_dripping_webhook_fails_at_the_total_deadline(tmp_path: Path, dripping: Any) -> None:
    """`timeout` is the whole call, not one socket read: a receiver dripping its answer for 30 s does
    not hold a 1-second delivery."""
    artifact = _model(tmp_path / "model.pkl", 3)
    target = WebhookTarget(dripping.url + "/deploy", SECRET, timeout=1, retries=0)

    with pytest.raises(GateFailed, match="no complete answer within 1 s"):
        target.deliver(_delivery(artifact, "v0.0.7"))
    assert not dripping.stop.is_set()  # it failed while the server was still dripping


def test_a_dripping_github_api_fails_at_the_total_deadline(
    dripping: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlci.github.client import GitHubClient
    from mlci.github.errors import GitHubError

    monkeypatch.setenv("MLCI_RETRY_SCALE", "0")
    client = GitHubClient("t0ken", "o/r", dripping.url, timeout=1)

    with pytest.raises(GitHubError, match="no complete answer within 1 s"):
        client.get_pull(1)
    assert not dripping.stop.is_set()


def test_webhook_without_its_secret_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = DeployConfig(targets={"hook": {"type": "webhook", "url": "https://example.com/x"}})
    monkeypatch.delenv("MLCI_WEBHOOK_SECRET", raising=False)
    with pytest.raises(MlciError, match="MLCI_WEBHOOK_SECRET") as missing:
        open_target(config, "hook", tmp_path)
    assert missing.value.exit_code == 2
    monkeypatch.setenv("MLCI_WEBHOOK_SECRET", os.urandom(8).hex())
    assert isinstance(open_target(config, "hook", tmp_path), WebhookTarget)


def test_a_command_past_its_deadline_is_stopped_with_its_children(tmp_path: Path) -> None:
    import os
    import time

    artifact = _model(tmp_path / "model.pkl", 3)
    script = "sleep 60 & echo $! > child.pid; sleep 60"  # a hung deploy script and its child

    with pytest.raises(GateFailed) as failed:
        CommandTarget(script, tmp_path, timeout=1).deliver(_delivery(artifact, "v0.0.4"))

    assert "did not finish within 1 s and was stopped" in failed.value.message
    assert "run_timeout" in (failed.value.hint or "")
    child = int((tmp_path / "child.pid").read_text())
    for _ in range(50):  # the group got SIGTERM; give the kernel a moment to reap it
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the command's child process outlived the deadline")


def test_a_canary_step_reaches_the_webhook_as_traffic_and_the_command_as_mlci_traffic(
    tmp_path: Path, receiver: Any
) -> None:
    import dataclasses

    artifact = _model(tmp_path / "model.pkl", 3)
    step = dataclasses.replace(_delivery(artifact, "v0.0.8"), traffic=10)
    seen = tmp_path / "seen"

    WebhookTarget(receiver.url, SECRET, timeout=5, retries=0).deliver(step)
    CommandTarget(f'echo "$MLCI_VERSION $MLCI_TRAFFIC" > {seen}', tmp_path).deliver(step)
    WebhookTarget(receiver.url, SECRET, timeout=5, retries=0).deliver(_delivery(artifact, "v0.0.8"))

    assert [r["body"]["traffic"] for r in receiver.received] == [10, 100]  # 100: a whole delivery
    assert all(r["valid"] for r in receiver.received)
    assert seen.read_text() == "v0.0.8 10\n"
