"""The git trailers mlci writes on its own commits, so a later run can tell them from a person's.

- `Mlci-Results: <stages>` on a results commit of `mlci train --commit` (dvc.lock, metrics, plots).
- `Mlci-Retrain: <model>` and `Mlci-Data: <hash of the fresh data>` on a retraining commit.
"""

from __future__ import annotations

import re

RESULTS = "Mlci-Results"
RETRAIN = "Mlci-Retrain"
DATA = "Mlci-Data"


def trailer(message: str, key: str) -> str:
    """The last value of trailer `key` in a commit message ("" when absent)."""
    found = re.findall(rf"^{re.escape(key)}: *(\S+) *$", message, flags=re.MULTILINE)
    return found[-1] if found else ""


def with_trailer(message: str, key: str, value: str) -> str:
    """The message with `key: value` as its last trailer (git's `Key: value` after a blank line)."""
    body = message.rstrip("\n")
    value = re.sub(r"\s+", "_", value.strip()) or "-"
    separator = "\n" if re.search(r"\n\n[\w-]+: \S+$", body) else "\n\n"
    return f"{body}{separator}{key}: {value}\n"
