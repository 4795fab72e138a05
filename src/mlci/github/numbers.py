"""Numbers a server sends, parsed strictly and bounded.

A header or a JSON field is the server's (or a proxy's) word, not a fact: `Retry-After` may hold 20
digits, a Unicode digit (`²` passes `str.isdigit()`), `inf`, a negative number or an HTTP-date; an
`id` may be a string, a boolean or 2**80. Each reader here accepts only ASCII decimal digits (or the
documented date form), within a bound, and says None (or raises GitHubError, exit 2) for anything else
— never a crash, never a wait of centuries.
"""

from __future__ import annotations

import re
import time
from typing import Any

from mlci.github.errors import GitHubError

MAX_WAIT_HEADER = 86_400.0  # seconds: a Retry-After or reset further away than a day is taken as a day
MAX_EPOCH = 2**33  # seconds since 1970: year 2242, far beyond any reset GitHub gives
MAX_ID = 2**63 - 1  # GitHub's ids are 64-bit integers
_DIGITS = re.compile(r"[0-9]{1,15}")  # ASCII only: re's [0-9] is not \d


def ascii_int(value: str | None, upper: int) -> int | None:
    """`value` as a non-negative integer of ASCII digits no greater than `upper`, else None."""
    if value is None:
        return None
    text = value.strip()
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if number <= upper else None


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay-seconds or an HTTP-date, RFC 9110 §10.2.3),
    within [0, MAX_WAIT_HEADER]; None when absent or not one of those forms."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"[0-9]+", text):  # ASCII digits only; more than 15 is more than any real wait
        return MAX_WAIT_HEADER if len(text) > 15 else min(float(int(text)), MAX_WAIT_HEADER)
    when = http_date(text)
    if when is None:
        return None
    now = time.time() if now is None else now
    return min(max(0.0, when - now), MAX_WAIT_HEADER)


def http_date(text: str) -> float | None:
    """An IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`) as epoch seconds, or None."""
    from email.utils import parsedate_to_datetime

    if not text.isascii() or len(text) > 64:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    stamp = when.timestamp()
    return stamp if 0 <= stamp <= MAX_EPOCH else None


def epoch(value: str | None) -> float | None:
    """An `x-ratelimit-reset` header (epoch seconds, ASCII digits) within [0, MAX_EPOCH], else None."""
    number = ascii_int(value, MAX_EPOCH)
    return float(number) if number is not None else None


def api_id(value: Any, what: str) -> int:
    """An `id` (or `number`) from a GitHub answer: a JSON integer in [1, 2**63 - 1]; anything else is a
    GitHubError naming the field (exit 2), not a crash."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID:
        return value
    shown = repr(value)[:40]
    raise GitHubError(
        f"GitHub's answer has {what} = {shown}, not a positive 64-bit integer",
        hint="a proxy or a GitHub outage may have changed the answer; run the job again",
    )
