"""HTTP transport of the GitHub client: headers, timeouts, pagination and the retry policy.

Retry order, as GitHub documents it (docs.github.com, "Rate limits for the REST API"):
1. a `retry-after` header: wait that many seconds;
2. `x-ratelimit-remaining: 0`: wait until `x-ratelimit-reset` (epoch seconds);
3. a secondary limit (403/429) without those headers: wait at least a minute, then back off exponentially;
4. 5xx, timeouts and dropped connections: bounded exponential backoff (1, 2, 4 s).
Every request gets at most MAX_ATTEMPTS attempts; a wait longer than `max_wait` raises RateLimited at once.

MLCI_RETRY_SCALE (a number, default 1) multiplies every wait before it is slept: 0 makes the test suite's
fault scenarios instant; decisions (which wait is too long for `max_wait`) still use the real waits.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from mlci import __version__
from mlci.github.errors import (
    GitHubError,
    RateLimited,
    describe_body,
    describe_request,
    error_for,
    format_reset,
    is_rate_limited,
    reset_time,
)

MAX_ATTEMPTS = 4
BACKOFF = (1.0, 2.0, 4.0)  # seconds before attempts 2, 3 and 4 after a 5xx or a network error
SECONDARY_WAIT = 60.0  # GitHub: "wait for at least one minute" after a secondary rate limit
API_VERSION = "2022-11-28"
PER_PAGE = 100

Json = dict[str, Any]
Sleep = Callable[[float], None]


class DeadlineExceeded(requests.Timeout):
    """No complete answer within the call's total deadline."""


def send_within(total: float, send: Callable[[], requests.Response]) -> requests.Response:
    """`send()` (a request with `stream=True`) and its whole body, within `total` seconds.

    requests' `timeout` bounds each socket read, so a server that drips a byte a second holds a call
    for as long as it likes. The call runs in a worker thread; past the deadline its connection is
    shut down (when the headers had arrived) and DeadlineExceeded is raised. A worker still waiting
    for headers is abandoned (a daemon thread, ended by its own per-read timeout or the process exit).
    """
    import threading

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["response"] = response = send()
            _ = response.content  # the whole body, inside the deadline
            box["done"] = True
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True, name="mlci-http-call")
    worker.start()
    worker.join(total)
    if "error" in box:
        raise box["error"]
    if not box.get("done"):
        late = box.get("response")
        if late is not None:
            _abort(late)
        raise DeadlineExceeded(f"no complete answer within {total:g} s (the total deadline of one call)")
    result: requests.Response = box["response"]
    return result


def _abort(response: requests.Response) -> None:
    """Shut the socket under a half-read response so that the worker's read ends now."""
    import socket

    connection = getattr(response.raw, "_connection", None) or getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    # closing a response another thread reads may fail in many ways; it is dropped anyway
    with contextlib.suppress(Exception):
        response.close()


def decode(method: str, url: str, response: requests.Response) -> Any:
    """The JSON of a successful answer; anything else (an HTML page from a proxy, a truncated body) is
    GitHub failing, not a bug in mlci."""
    try:
        return response.json()
    except ValueError:
        raise GitHubError(
            f"{describe_request(method, url)}: GitHub answered {response.status_code} with "
            f"{describe_body(response)} instead of JSON",
            status=response.status_code,
            url=url,
            hint="GitHub or a proxy in front of it is failing; re-run the job later",
        ) from None


def expect_items(page: Any, method: str, url: str) -> list[Json]:
    """A list endpoint's page must be a list of objects."""
    if not isinstance(page, list) or not all(isinstance(item, dict) for item in page):
        raise unexpected_shape(method, url, "a list of objects", page)
    return page


def unexpected_shape(method: str, url: str, wanted: str, got: Any) -> GitHubError:
    return GitHubError(
        f"{describe_request(method, url)}: GitHub answered {type_name(got)} where {wanted} belongs",
        url=url,
        hint="GitHub or a proxy in front of it is failing; re-run the job later",
    )


def type_name(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "nothing" if value is None else f"a {type(value).__name__}"


def retry_scale() -> float:
    """MLCI_RETRY_SCALE as a factor >= 0; a value that is not a number is an error, not ignored."""
    text = os.environ.get("MLCI_RETRY_SCALE", "").strip()
    if not text:
        return 1.0
    try:
        scale = float(text)
    except ValueError:
        scale = -1.0
    if not scale >= 0.0:  # also rejects NaN
        raise GitHubError(
            f"MLCI_RETRY_SCALE must be a number >= 0, got {text[:40]!r}",
            hint="unset it, or set e.g. MLCI_RETRY_SCALE=0 to retry without waiting (tests)",
        )
    return scale


class Transport:
    def __init__(self, token: str, api_url: str, *, timeout: float, max_wait: float, sleep: Sleep) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.max_wait = max_wait
        scale = retry_scale()
        self.sleep: Sleep = sleep if scale == 1.0 else (lambda seconds: sleep(seconds * scale))
        self._token = token
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": f"mlci/{__version__}",
            }
        )

    def __repr__(self) -> str:
        return f"Transport(api_url={self.api_url!r})"

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.api_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        retry: bool = True,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one call; `retry=False` for a POST that must not be repeated blindly after a 5xx.

        Rate-limit responses are retried whatever `retry` says: GitHub rejected those before acting.
        """
        url = self.url(path)
        try:
            return self._request(method, url, retry, dict(params or {}), json, data, headers)
        except GitHubError as exc:
            raise exc.scrub(self._token) from None

    def _request(
        self,
        method: str,
        url: str,
        retry: bool,
        params: dict[str, Any],
        json: Any,
        data: bytes | None,
        headers: Mapping[str, str] | None,
    ) -> requests.Response:
        waited = 0.0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = send_within(
                    self.timeout,
                    lambda: self._session.request(
                        method,
                        url,
                        params=params,
                        json=json,
                        data=data,
                        headers=headers,
                        timeout=self.timeout,
                        stream=True,
                    ),
                )
            except requests.RequestException as exc:
                error = self._network_error(method, url, exc)
                # A connect timeout never reached GitHub, so even a POST may go again.
                safe = retry or isinstance(exc, requests.ConnectTimeout)
                delay = BACKOFF[attempt - 1] if safe and attempt < MAX_ATTEMPTS else None
            else:
                if response.ok:
                    return response
                error = error_for(method, url, response)
                delay = self._delay(response, error, attempt, retry, waited)
            if delay is None:
                raise error.after_attempts(attempt)
            waited += delay
            self.sleep(delay)
        raise AssertionError("unreachable: the last attempt always returns or raises")

    def _network_error(self, method: str, url: str, exc: requests.RequestException) -> GitHubError:
        what = describe_request(method, url)
        if isinstance(exc, DeadlineExceeded):
            reason = f"no complete answer within {self.timeout:g} s (github.timeout, a total per call)"
        elif isinstance(exc, requests.Timeout):
            reason = f"no answer within {self.timeout:g} s"
        else:
            reason = f"connection failed ({type(exc).__name__})"
        return GitHubError(
            f"{what}: {reason}",
            url=url,
            hint=f"is {self.api_url} reachable from this runner?",
            transient=True,
        )

    def _delay(
        self, response: requests.Response, error: GitHubError, attempt: int, retry: bool, waited: float
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up with `error`."""
        if is_rate_limited(response):
            wait = self._rate_limit_wait(response, attempt)
            if attempt == MAX_ATTEMPTS:
                raise self._rate_limited(response, error, wait, f"still limited after {attempt} attempts")
            if waited + wait > self.max_wait:
                raise self._rate_limited(
                    response, error, wait, f"longer than mlci waits ({self.max_wait:g} s)"
                )
            return wait
        if error.transient and retry and attempt < MAX_ATTEMPTS:
            return BACKOFF[attempt - 1]
        return None

    def _rate_limit_wait(self, response: requests.Response, attempt: int) -> float:
        from mlci.github.numbers import retry_after

        wait = retry_after(response.headers.get("retry-after"))
        if wait is not None:
            return wait
        reset_at = reset_time(response)
        if response.headers.get("x-ratelimit-remaining") == "0" and reset_at is not None:
            return max(0.0, reset_at - time.time()) + 1.0  # +1 s: the reset stamp is rounded down
        return SECONDARY_WAIT * float(2 ** (attempt - 1))

    def _rate_limited(
        self, response: requests.Response, error: GitHubError, wait: float, why: str
    ) -> RateLimited:
        reset_at = reset_time(response) if response.headers.get("x-ratelimit-remaining") == "0" else None
        reset_at = reset_at if reset_at is not None else time.time() + wait
        return RateLimited(
            f"{error.message}; it resets at {format_reset(reset_at)}, {why}",
            reset_at=reset_at,
            status=error.status,
            url=error.url,
            hint="re-run the job later, or lower the number of API calls (e.g. fewer jobs posting reports)",
        )

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return decode(method, self.url(path), response) if response.content else None

    def _same_origin(self, url: str) -> bool:
        """A path, or a URL with exactly the API's scheme, host and port and below its path (a prefix
        test would let https://api.github.com.evil.example through)."""
        from urllib.parse import urlsplit

        if url.startswith("/"):
            return not url.startswith("//")
        api, link = urlsplit(self.api_url), urlsplit(url)
        try:
            same = (link.scheme, link.hostname, link.port) == (api.scheme, api.hostname, api.port)
        except ValueError:  # a port that is not a number
            return False
        return same and (link.path + "/").startswith(api.path.rstrip("/") + "/")

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> list[Json]:
        """Every item of a list endpoint, following `Link: <...>; rel="next"` headers."""
        items: list[Json] = []
        url: str | None = path
        query: Mapping[str, Any] | None = {**(params or {}), "per_page": PER_PAGE}
        while url:
            if not self._same_origin(url):  # never send the token to another host
                raise GitHubError(f"refusing to follow a pagination link outside {self.api_url}: {url}")
            response = self.request("GET", url, params=query)
            page = decode("GET", self.url(url), response) if response.content else []
            items.extend(expect_items(page, "GET", self.url(url)))
            url = response.links.get("next", {}).get("url")
            query = None  # the next link carries the whole query string
        return items
