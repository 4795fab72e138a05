"""Typed errors of the GitHub REST client, and how a failed response maps onto them."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from mlci.errors import MlciError

NOT_ACCESSIBLE = "Resource not accessible by"  # "... by integration" / "... by personal access token"

# Which `permissions:` scope a path needs, first match wins (paths are relative to /repos/{owner}/{repo}).
_PERMISSIONS: tuple[tuple[str, str], ...] = (
    (r"/issues/(\d+/)?comments", "pull-requests"),
    (r"/issues/\d+/(labels|assignees)", "pull-requests"),
    (r"/pulls", "pull-requests"),
    (r"/check-(runs|suites)", "checks"),
    (r"/statuses/|/commits/[^/]+/status", "statuses"),
    (r"/deployments", "deployments"),
    (r"/actions/", "actions"),
    (r"/git/|/releases|/contents/", "contents"),
)


class GitHubError(MlciError):
    """A GitHub API call failed; `status` is None when no response came back at all."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        hint: str | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.url = url
        # A 5xx, timeout or dropped connection: the request may be retried (it may also have landed).
        self.transient = transient

    def after_attempts(self, attempts: int) -> GitHubError:
        """Say how often we tried, when it was more than once."""
        if attempts > 1:
            self.message += f" (after {attempts} attempts)"
            self.args = (self.message,)
        return self

    def scrub(self, secret: str) -> GitHubError:
        """Remove a secret from every text of the error (defence in depth: we never put it there)."""
        if secret:
            self.message = self.message.replace(secret, "***")
            self.hint = self.hint.replace(secret, "***") if self.hint else self.hint
            self.url = self.url.replace(secret, "***") if self.url else self.url
            self.args = (self.message,)
        return self


class PermissionDenied(GitHubError):
    """The token lacks a `permissions:` scope (or is the read-only token of a fork pull request)."""

    def __init__(self, message: str, *, permission: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.permission = permission


class RateLimited(GitHubError):
    """GitHub rate-limited us for longer than we are willing to wait."""

    def __init__(self, message: str, *, reset_at: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reset_at = reset_at


class NotFound(GitHubError):
    """404: the resource does not exist, or the token cannot see it."""


def permission_for(method: str, url: str) -> str:
    """The `permissions:` entry an endpoint needs, e.g. `checks: write`."""
    path = re.sub(r"^.*?/repos/[^/]+/[^/]+", "", urlsplit(url).path)
    scope = next((name for pattern, name in _PERMISSIONS if re.search(pattern, path)), "contents")
    return f"{scope}: {'read' if method.upper() in ('GET', 'HEAD') else 'write'}"


def describe_request(method: str, url: str) -> str:
    return f"{method.upper()} {urlsplit(url).path}"


def describe_body(response: requests.Response) -> str:
    """What a body that is not JSON looks like, without quoting it (an HTML page is noise in a log)."""
    text = response.content[:2048].decode("utf-8", "replace").lstrip()
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "text/html" or text[:1] == "<":
        title = re.search(r"<title[^>]*>([^<]{1,80})", text, re.IGNORECASE)
        return f"an HTML page ({' '.join(title.group(1).split())!r})" if title else "an HTML page"
    return f"{len(response.content)} bytes that are not JSON" if response.content else "an empty body"


def response_message(response: requests.Response) -> str:
    """GitHub's `message`, plus the details of a 422 `errors` list."""
    try:
        data = response.json()
    except ValueError:
        return describe_body(response) if response.content else response.reason or ""
    if not isinstance(data, dict):
        return str(data)[:200]
    message = str(data.get("message", ""))
    details = [_error_detail(item) for item in data.get("errors") or []]
    return f"{message} ({'; '.join(details)})" if details else message


def _error_detail(item: object) -> str:
    if not isinstance(item, dict):
        return str(item)
    if "message" in item:
        return str(item["message"])
    return " ".join(str(item[key]) for key in ("resource", "field", "code") if key in item)


def is_rate_limited(response: requests.Response) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    headers = response.headers
    return (
        "retry-after" in headers
        or headers.get("x-ratelimit-remaining") == "0"
        or "rate limit" in response_message(response).lower()
    )


def error_for(method: str, url: str, response: requests.Response) -> GitHubError:
    """The typed error for a failed response."""
    status = response.status_code
    what = describe_request(method, url)
    message = response_message(response)
    common: dict[str, Any] = {"status": status, "url": url}
    if status == 401:
        return GitHubError(
            f"GitHub rejected the token ({status} {message}) on {what}",
            hint="check the token passed to mlci (GITHUB_TOKEN or the secret); it may be expired or revoked",
            **common,
        )
    if status == 403 and message.startswith(NOT_ACCESSIBLE):
        return permission_denied(method, url, message, common)
    if is_rate_limited(response):
        return RateLimited(f"GitHub rate limit on {what}: {message}", reset_at=reset_time(response), **common)
    if status == 404:
        return NotFound(
            f"{what}: 404 Not Found",
            hint="the resource does not exist, or the token cannot see it (check the repository name)",
            **common,
        )
    return GitHubError(f"{what} failed: {status} {message}".rstrip(), transient=status >= 500, **common)


def permission_denied(method: str, url: str, message: str, common: dict[str, Any]) -> PermissionDenied:
    permission = permission_for(method, url)
    scope = permission.split(":")[0]
    also = " (or `issues: write` on an issue)" if scope == "pull-requests" else ""
    return PermissionDenied(
        f"{describe_request(method, url)}: {message}. The token needs `{permission}`{also}.",
        permission=permission,
        hint=(
            f"grant it in the workflow (or the job):\npermissions:\n  {permission}\n"
            "A pull request from a fork always gets a read-only token: run without a token to write "
            "to the outbox instead, or publish from a `workflow_run` job."
        ),
        **common,
    )


def reset_time(response: requests.Response) -> float | None:
    from mlci.github.numbers import epoch

    return epoch(response.headers.get("x-ratelimit-reset"))


def format_reset(reset_at: float) -> str:
    """`14:05:09 UTC (in 42 min)`: when a rate limit resets."""
    reset_at = min(max(reset_at, 0.0), 2.0**33)  # a bound the clock functions can format
    stamp = time.strftime("%H:%M:%S UTC", time.gmtime(reset_at))
    seconds = max(0, round(reset_at - time.time()))
    return f"{stamp} (in {seconds // 60} min)" if seconds >= 120 else f"{stamp} (in {seconds} s)"
