"""The MLflow REST transport: one session per server, credentials from the environment only.

Credentials, as MLflow's own client reads them: MLFLOW_TRACKING_TOKEN (a bearer token), else
MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (HTTP basic). They are never part of a URL, a
message or a key of mlci.yaml. Every call is bounded (`timeout` seconds, answer included); connection
failures, timeouts and 5xx answers are retried after 1, 2 and 4 s (scaled by MLCI_RETRY_SCALE, as
GitHub calls are), then the call fails with exit 2 naming the server.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import requests

from mlci import __version__
from mlci.errors import MlciError
from mlci.redact import redact_url
from mlci.safety import one_line

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
BACKOFF = (1.0, 2.0, 4.0)  # seconds before attempts 2, 3 and 4 after a 5xx or a network failure
URI_ENV = "MLFLOW_TRACKING_URI"
TOKEN_ENV = "MLFLOW_TRACKING_TOKEN"
USER_ENV = "MLFLOW_TRACKING_USERNAME"
PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"
# What the reusable workflows that talk to MLflow (report, deploy and promote, rollback) take as secrets and
# hand to mlci's step: the server and one of MLflow's two ways to log in (.ci/install_steps.py renders them).
SECRETS: tuple[tuple[str, str], ...] = (
    (URI_ENV, "the MLflow tracking server's URL (or set mlflow.tracking_uri in mlci.yaml)"),
    (TOKEN_ENV, "a bearer token the MLflow server accepts"),
    (USER_ENV, "or a user of the MLflow server (HTTP basic, with MLFLOW_TRACKING_PASSWORD)"),
    (PASSWORD_ENV, "the password of MLFLOW_TRACKING_USERNAME"),
)
CREDENTIALS_HINT = (
    f"set {TOKEN_ENV}, or {USER_ENV} and {PASSWORD_ENV}, from a secret to an account the server accepts"
)


class MlflowError(MlciError):
    """An MLflow call failed (exit 2); `code` is MLflow's `error_code` ("" when no answer came)."""

    def __init__(
        self, message: str, hint: str | None = None, *, status: int | None = None, code: str = ""
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.code = code


class NotFound(MlflowError):
    """MLflow answered RESOURCE_DOES_NOT_EXIST (404)."""


def tracking_uri(configured: str, where: str) -> str:
    """The server's http(s) URL: `configured`, else MLFLOW_TRACKING_URI; exit 2 for none, another scheme
    (mlci talks to a tracking server, not a local store) or credentials written into the URL."""
    from urllib.parse import urlsplit

    uri = (configured or os.environ.get(URI_ENV, "")).strip().rstrip("/")
    if not uri:
        raise MlciError(
            f"{where}: no MLflow tracking server is named",
            f"set `tracking_uri` under {where} in mlci.yaml, or the environment variable {URI_ENV}",
        )
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MlciError(
            f"{where}: the MLflow tracking URI {one_line(redact_url(uri), 120)} is not an http(s) URL",
            "mlci talks to an MLflow tracking server (`mlflow server`), e.g. https://mlflow.example.com",
        )
    if parts.username or parts.password:
        raise MlciError(
            f"{where}: the MLflow tracking URI {one_line(redact_url(uri), 120)} holds credentials",
            f"remove them from the URL; {CREDENTIALS_HINT}",
        )
    return uri


def _auth(session: requests.Session) -> None:
    token = os.environ.get(TOKEN_ENV, "")
    user, password = os.environ.get(USER_ENV, ""), os.environ.get(PASSWORD_ENV, "")
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    elif user or password:
        if not (user and password):
            missing = PASSWORD_ENV if user else USER_ENV
            raise MlciError(
                f"{missing} is empty while {USER_ENV if user else PASSWORD_ENV} is set", CREDENTIALS_HINT
            )
        session.auth = (user, password)


class MlflowClient:
    """Calls to one tracking server. `uri` as `tracking_uri` returns it; `timeout` seconds per call."""

    def __init__(self, uri: str, *, timeout: float = 10.0) -> None:
        from mlci.github.http import retry_scale

        self.uri = uri.rstrip("/")
        self.timeout = timeout
        self.scale = retry_scale()
        self._session = requests.Session()
        self._session.headers["User-Agent"] = f"mlci/{__version__}"
        _auth(self._session)

    def __repr__(self) -> str:
        return f"MlflowClient(uri={redact_url(self.uri)!r})"

    @property
    def shown(self) -> str:
        """The server's URL as messages show it (no credentials, ever)."""
        return one_line(redact_url(self.uri), 160)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._json(self.call("GET", f"{API}/{path}", params=params))

    def post(self, path: str, body: Mapping[str, Any], *, retry: bool = True) -> dict[str, Any]:
        return self._json(self.call("POST", f"{API}/{path}", json=dict(body), retry=retry))

    def upload(self, artifact_path: str, data: bytes) -> None:
        """Put one file into the server's proxied artifact store (`--serve-artifacts`)."""
        self.call("PUT", f"{ARTIFACTS}/{artifact_path}", data=data)

    def call(self, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> requests.Response:
        """One call, retried on network failures and 5xx; MlflowError (exit 2) when it fails."""
        what = f"{method} {self.shown}{path.split('?')[0]}"
        for attempt in range(1, len(BACKOFF) + 2):
            problem, status = self._attempt(method, path, kwargs)
            if isinstance(problem, requests.Response) and problem.ok:
                return problem
            if not retry or attempt > len(BACKOFF) or (status is not None and status < 500):
                break
            time.sleep(BACKOFF[attempt - 1] * self.scale)
        raise self._failure(what, problem, status, attempt)

    def _attempt(self, method: str, path: str, kwargs: Mapping[str, Any]) -> tuple[Any, int | None]:
        from mlci.github.http import send_within

        url = f"{self.uri}{path}"
        try:
            response = send_within(
                self.timeout,
                lambda: self._session.request(
                    method, url, timeout=self.timeout, stream=True, allow_redirects=False, **kwargs
                ),
            )
        except requests.RequestException as exc:
            return exc, None
        return response, response.status_code

    def _failure(self, what: str, problem: Any, status: int | None, attempts: int) -> MlflowError:
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        if not isinstance(problem, requests.Response):
            reason = (
                f"no answer within {self.timeout:g} s"
                if isinstance(problem, requests.Timeout)
                else f"connection failed ({type(problem).__name__})"
            )
            return MlflowError(
                f"the MLflow tracking server {self.shown} did not answer {what}: {reason}{tries}",
                f"is the server running and reachable from here? check `tracking_uri` in mlci.yaml or {URI_ENV}",
            )
        code, message = _error_of(problem)
        if problem.status_code in (401, 403):
            return MlflowError(
                f"the MLflow tracking server {self.shown} refused the credentials "
                f"(HTTP {problem.status_code}{', ' + code if code else ''})",
                CREDENTIALS_HINT,
                status=problem.status_code,
                code=code,
            )
        kind = NotFound if code == "RESOURCE_DOES_NOT_EXIST" or problem.status_code == 404 else MlflowError
        return kind(
            f"{what}: MLflow answered {problem.status_code} {code}: {one_line(message, 300)}{tries}".strip(),
            "see the server's message; docs/mlflow.md lists what mlci asks of the server",
            status=problem.status_code,
            code=code,
        )

    def _json(self, response: requests.Response) -> dict[str, Any]:
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise MlflowError(
                f"the MLflow tracking server {self.shown} answered {response.status_code} without a JSON object",
                "is `tracking_uri` the server's address (not its UI behind a proxy or a login page)?",
                status=response.status_code,
            )
        return data


def _error_of(response: requests.Response) -> tuple[str, str]:
    """MLflow's `error_code` and `message` of a failed answer (or the body's first line)."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        return str(data.get("error_code", "")), str(data.get("message", ""))
    return "", one_line(response.text, 200)
