"""Consoles that are not UTF-8: Python's default for piped output on a Windows runner is the ANSI code
page (cp1252), and PYTHONIOENCODING may name any codec. mlci prints emoji, arrows and the user's own
non-ASCII names; a character the console cannot show is written as a `\\uXXXX` escape, never an error."""

from __future__ import annotations

import codecs
import io
import sys

_TOLERANT = ("backslashreplace", "replace", "ignore", "namereplace", "xmlcharrefreplace")


def tolerate_any_encoding() -> None:
    """Make stdout and stderr escape what their encoding cannot represent (`backslashreplace`);
    UTF-8 streams are left as they are. Files mlci writes are always UTF-8 (mlci.fsutil)."""
    for stream in (sys.stdout, sys.stderr):
        if not isinstance(stream, io.TextIOWrapper):
            continue  # a test harness's buffer, or already wrapped
        try:
            utf8 = codecs.lookup(stream.encoding).name == "utf-8"
        except LookupError:
            utf8 = False
        if not utf8 and stream.errors not in _TOLERANT:
            stream.reconfigure(errors="backslashreplace")
