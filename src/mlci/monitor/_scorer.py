"""The scorer that runs in the project's environment (mlci.monitor.project_model starts it with the
project's Python): it unpickles the model there, with the project's own packages, and answers predict and
predict_proba calls. Standard library only at import time, for any Python 3 the project uses; nothing of
mlci's is importable there.

Frames on stdin/stdout: an 8-byte big-endian length, then a pickle of (kind, payload); the reply is
("ok", value) or ("error", (exception name, message)). The model's own prints go to stderr.
"""

from __future__ import annotations

import pickle
import struct
import sys
from typing import IO, Any


def _read(stream: IO[bytes]) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        return None
    (size,) = struct.unpack(">Q", head)
    return pickle.loads(stream.read(size))


def _write(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=4)
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def _plain(value: Any) -> Any:
    if value is None:
        return None
    return value.tolist() if hasattr(value, "tolist") else list(value)


def _frame(payload: Any) -> Any:
    names, columns = payload
    try:
        import pandas as pd
    except ImportError:
        import numpy as np

        return np.column_stack(columns)
    return pd.DataFrame({names[i]: columns[i] for i in range(len(names))}, columns=names)


def _answer(model: list[Any], kind: str, payload: Any) -> Any:
    if kind == "load":
        model[0] = pickle.loads(payload)
        loaded = model[0]
        return {
            "proba": hasattr(loaded, "predict_proba") and hasattr(loaded, "classes_"),
            "classes": _plain(getattr(loaded, "classes_", None)),
            "features": _plain(getattr(loaded, "feature_names_in_", None)),
        }
    return _plain(getattr(model[0], kind)(_frame(payload)))


def main() -> int:
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # the model's own prints
    model: list[Any] = [None]
    while True:
        message = _read(inp)
        if message is None:
            return 0
        kind, payload = message
        try:
            reply = ("ok", _answer(model, kind, payload))
        except Exception as exc:  # told to mlci, which says what failed
            reply = ("error", (type(exc).__name__, str(exc)[:2000]))
        _write(out, reply)


if __name__ == "__main__":
    sys.exit(main())
