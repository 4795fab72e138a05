"""Secrets never printed: the one redaction every output of mlci goes through.

What is removed, wherever it appears in a text:
- the userinfo of a URL (`s3://KEY:SECRET@host/…`, `https://user:token@host`) becomes `***@`;
- the value of a signing or credential query parameter (`X-Amz-Signature`, `X-Amz-Credential`,
  `X-Amz-Security-Token`, `X-Goog-Signature`, Azure's SAS `sig`, `token`, `access_token`, `key`,
  `password`, …) becomes `***`;
- the value of every environment variable that holds a secret by its name (`*_TOKEN`, `*_SECRET*`,
  `*PASSWORD*`, `*_CREDENTIALS*`, `*CONNECTION_STRING`, `*_ACCESS_KEY`, `*_ACCOUNT_KEY`, …);
- every value registered with `register` (a DVC remote's `password`, `secret_access_key`, … read from
  `.dvc/config.local`).

The sinks call `redact`: the CLI's stdout and stderr (`RedactedLines`, which also covers annotations
and tracebacks under `--debug`), the job summary and step outputs, every request body sent to GitHub
(the offline outbox included) and the files `mlci report` writes.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

MASK = "***"
MIN_SECRET = 6  # shorter values are too likely to be ordinary words ("true", "main")

_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,20})://([^\s'\"<>`|]*)")
_USERINFO = re.compile(r"^([^/?#@]*)@")
_QUERY_PARAM = re.compile(r"(?i)([?&;](?:amp;)?)([\w.%-]+)=([^&#;\s'\"<>`|]*)")
_SECRET_PARAMS = frozenset(
    {
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
        "x-goog-security-token",
        "signature",
        "sig",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth",
        "authorization",
        "key",
        "api_key",
        "apikey",
        "api-key",
        "password",
        "passwd",
        "pass",
        "secret",
        "client_secret",
        "code",
        "sharedkey",
        "sas",
    }
)
_SECRET_ENV = re.compile(
    r"(?i)(TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|CONNECTION_STRING|ACCESS_KEY|ACCOUNT_KEY"
    r"|PRIVATE_KEY|API_KEY|SAS|SIGNATURE|WEBHOOK)"
)
_ENV_EXEMPT = frozenset({"ACTIONS_ID_TOKEN_REQUEST_URL", "GOOGLE_APPLICATION_CREDENTIALS"})
_registered: set[str] = set()


def register(values: Iterable[Any]) -> None:
    """Treat each value (a DVC remote's password, a key read from config) as a secret from now on."""
    for value in values:
        text = str(value) if value is not None else ""
        if len(text) >= MIN_SECRET:
            _registered.add(text)


def env_secrets(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of the environment variables whose names say they hold a secret, longest first."""
    env = os.environ if env is None else env
    found = {
        value
        for name, value in env.items()
        if name not in _ENV_EXEMPT and _SECRET_ENV.search(name) and len(value) >= MIN_SECRET
    }
    return sorted(found, key=len, reverse=True)


def redact_url(url: str) -> str:
    """`url` without its userinfo and without the values of its signing/credential query parameters."""
    return _URL.sub(_url_match, url)


def _url_match(match: re.Match[str]) -> str:
    scheme, rest = match.group(1), match.group(2)
    rest = _USERINFO.sub(MASK + "@", rest, count=1)
    rest = _QUERY_PARAM.sub(_param_match, rest)
    return f"{scheme}://{rest}"


def _param_match(match: re.Match[str]) -> str:
    lead, name, value = match.groups()
    if name.lower() in _SECRET_PARAMS and value:
        return f"{lead}{name}={MASK}"
    return match.group(0)


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """`text` with every URL credential and every known secret value replaced by `***`."""
    if not text:
        return text
    text = redact_url(text)
    for secret in sorted(_registered, key=len, reverse=True) + env_secrets(env):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_data(value: Any) -> Any:
    """`redact` on every string inside a JSON-like value (dicts, lists, strings); other values as they are."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(key): redact_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(item) for item in value]
    return value


def _redact_lines(text: str) -> str:
    # `::add-mask::VALUE` must carry the value itself: the runner masks it from then on (InertLines
    # before this wrapper turns any forged one from a PR into plain text)
    if "::add-mask::" not in text:
        return redact(text)
    lines = text.splitlines(keepends=True)
    return "".join(line if line.startswith("::add-mask::") else redact(line) for line in lines)


class RedactedLines(io.TextIOBase):
    """A stdout/stderr wrapper that redacts whole lines (a URL is never split between two writes)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending = ""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._stream, "encoding", None) or "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._stream, "errors", None)

    def isatty(self) -> bool:
        return self._stream.isatty()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._stream.fileno()

    def write(self, text: str) -> int:
        whole = self._pending + text
        cut = max(whole.rfind("\n"), whole.rfind("\r"))
        self._pending = whole[cut + 1 :]
        if cut >= 0:
            self._stream.write(_redact_lines(whole[: cut + 1]))
        if len(self._pending) > 65536:  # a line without an end is written in pieces
            self._stream.write(redact(self._pending))
            self._pending = ""
        return len(text)

    def flush(self) -> None:
        if self._pending:  # a prompt or progress without its line end yet
            self._stream.write(redact(self._pending))
            self._pending = ""
        self._stream.flush()

    def close_lines(self) -> None:
        """Write an unfinished last line; call before the wrapper is dropped."""
        if self._pending:
            self._stream.write(redact(self._pending))
            self._pending = ""
        self._stream.flush()
