"""MLflow's rules for registered model names and aliases, checked before anything is sent.

As MLflow's server checks them (its `utils/validation.py`): a registered model name is not empty,
holds neither '/' nor ':', and is a plain path segment (no '.', '..', leading '/', doubled or trailing
slashes); an alias holds only letters, digits, '_' and '-', at most 255 characters, and is neither
`latest` (any case) nor `v<digits>`, which MLflow keeps for its own version references.
"""

from __future__ import annotations

import posixpath
import re

ALIAS = re.compile(r"[\w\-]+")
VERSION_LIKE = re.compile(r"[vV]\d+")
MAX_ALIAS = 255


def name_problem(name: str) -> str:
    """Why MLflow would refuse `name` as a registered model name ("" when it accepts it)."""
    if not name.strip():
        return "it is empty"
    if "/" in name or ":" in name:
        return "MLflow's names cannot contain '/' or ':'"
    normal = posixpath.normpath(name)
    if normal != name or normal == "." or normal.startswith(".."):
        return f"MLflow would read it as the path {normal!r}"
    return ""


def alias_problem(alias: str) -> str:
    """Why MLflow would refuse `alias` ("" when it accepts it)."""
    if not ALIAS.fullmatch(alias):
        return "an alias holds only letters, digits, '_' and '-'"
    if len(alias) > MAX_ALIAS:
        return f"an alias has at most {MAX_ALIAS} characters"
    if alias.lower() == "latest" or VERSION_LIKE.fullmatch(alias):
        return f"MLflow keeps {alias!r} for its own version references"
    return ""
