"""A model service on loopback for the checks after delivery: the "live endpoint" of a deploy target.

A command target (`ship_command`) copies the delivered artifact into the service's folder and appends
`VERSION TRAFFIC` to its log, as a real deploy script would hand a model to a server. The service's
`GET /health` answers from what that log says is live, and the test tells it how each version behaves:
healthy, a failing health status, poor metrics, or hanging without an answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

GOOD = {"status": "ok", "model": {"accuracy": 0.91}, "latency_ms": 40}


@dataclass
class LiveService:
    folder: Path  # live/model.pkl is what is served; live/log the deliveries, one "VERSION TRAFFIC" a line
    url: str = ""
    unhealthy: set[str] = field(default_factory=set)  # versions answering 503
    poor: set[str] = field(default_factory=set)  # versions whose accuracy is 0.55
    fail_from_traffic: dict[str, int] = field(default_factory=dict)  # version → failing from this percent up
    hanging: set[str] = field(default_factory=set)  # versions that never answer
    probes: list[str] = field(default_factory=list)  # "VERSION TRAFFIC" at each probe
    stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def model(self) -> Path:
        return self.folder / "model.pkl"

    def deliveries(self) -> list[str]:
        log = self.folder / "log"
        return log.read_text().splitlines() if log.exists() else []

    def ship_command(self) -> str:
        """The command target's `run`: refuses a version when a `refuse-VERSION` file exists."""
        folder = str(self.folder)
        return (
            f'if [ -e "{folder}/refuse-$MLCI_VERSION" ]; then echo "the server refused $MLCI_VERSION" >&2; exit 5; fi; '
            f'cp "$MLCI_ARTIFACT" "{folder}/model.pkl" && echo "$MLCI_VERSION $MLCI_TRAFFIC" >> "{folder}/log"'
        )

    def refuse(self, version: str) -> None:
        (self.folder / f"refuse-{version}").write_text("")

    def answer(self) -> tuple[int, dict[str, object]]:
        live = (self.deliveries() or ["none 0"])[-1].split()
        version, traffic = live[0], int(live[1])
        self.probes.append(f"{version} {traffic}")
        if version in self.hanging:
            self.stopped.wait(120)
        if version in self.unhealthy or traffic >= self.fail_from_traffic.get(version, 101):
            return 503, {"status": "failing", "version": version}
        body: dict[str, object] = {**GOOD, "version": version, "traffic": traffic}
        if version in self.poor:
            body["model"] = {"accuracy": 0.55}
        return 200, body


def _handler(service: LiveService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = service.answer() if self.path == "/health" else (404, {"error": "not found"})
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the prober gave up (its deadline): nothing to answer
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def live_service(tmp_path: Path) -> Iterator[LiveService]:
    """The service on 127.0.0.1 (a free port), stopped after the test."""
    folder = tmp_path / "live"
    folder.mkdir()
    service = LiveService(folder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(service))
    server.daemon_threads = True
    service.url = f"http://127.0.0.1:{server.server_address[1]}/health"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.stopped.set()
        server.shutdown()
        server.server_close()
