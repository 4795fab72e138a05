"""A git smart-HTTP server on loopback: `git http-backend` behind a small Python server.

It serves every bare repository under `root` at http://127.0.0.1:PORT/<owner>/<name>.git, for fetches
(`actions/checkout` with a ref) and pushes (train's results commit, deploy's tags), with no auth:
whatever credentials a client sends are ignored.
"""

from __future__ import annotations

import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the CGI's output is sent as it comes; the connection ends the body

    def _cgi(self) -> None:
        server: GitHttpServer = self.server.owner  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            **os.environ,
            "GIT_PROJECT_ROOT": str(server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "runner",  # lets receive-pack accept pushes
            "REMOTE_ADDR": self.client_address[0],
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        server.requests.append(f"{self.command} {parts.path} {status}")
        server.authorizations.append(self.headers.get("Authorization", ""))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _cgi

    def log_message(self, format: str, *args: object) -> None:
        pass


class GitHttpServer:
    """Serves the bare repositories under `root`; `url` is the base (GITHUB_SERVER_URL)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        self.authorizations: list[str] = []  # each request's Authorization header ("" when none)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> GitHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, full_name: str, source: Path) -> Path:
        """Serve the bare repository `source` as `<url>/<full_name>.git` (receive-pack on, for pushes)."""
        target = self.root / f"{full_name}.git"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(source)
        subprocess.run(["git", "config", "http.receivepack", "true"], cwd=source, check=True)
        return target
