"""Labels as production gives them, put in the model's terms before any metric is computed.

Production feedback is not the training set: a class the model never saw appears, labels come as text
(`"1"`, `"yes"`) while the model predicts numbers (or the other way round), some rows have no label
yet, and a short window may hold one class only. `align` maps the labels onto the model's classes when
the mapping is unambiguous — numbers written as text (`"1"`, `"1.0"`), integers read as floats, text
that differs from a class only in letter case — and raises `LabelMismatch` (exit 2, after the drift
report is written) naming the column, the values and the model's classes when it is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlci.errors import MlciError

if TYPE_CHECKING:
    import numpy as np

SHOWN = 6  # values named in a message


class LabelMismatch(MlciError):
    """The label column's values cannot be put in the model's classes' terms (exit 2)."""


@dataclass
class Aligned:
    """Labels in the model's terms: `truth` (every labelled row), `known` (rows whose class the model
    has), and notes saying what was mapped or left out."""

    truth: Any
    known: Any
    notes: list[str] = field(default_factory=list)


def align(truth: np.ndarray, classes: np.ndarray, column: str) -> Aligned:
    """`truth` (labelled rows only) in the encoding of `classes` (the model's `classes_`)."""
    import numpy as np

    notes: list[str] = []
    mapped = _mapped(np.asarray(truth), np.asarray(classes), column, notes)
    known = np.isin(mapped, classes)
    if len(mapped) and not known.any():
        raise _mismatch(column, mapped, classes, "share no value with the model's classes")
    unknown = sorted({str(v) for v in mapped[~known]})
    if unknown:
        notes.append(
            f"{int((~known).sum())} labelled row(s) hold class(es) the model never saw ({_names(unknown)}): "
            "counted as errors in accuracy, left out of precision, recall, f1, roc_auc and log_loss"
        )
    if len(np.unique(mapped[known])) == 1:
        notes.append("the labelled rows hold one class only: roc_auc and log_loss are not defined")
    return Aligned(mapped, known, notes)


def _mapped(truth: np.ndarray, classes: np.ndarray, column: str, notes: list[str]) -> np.ndarray:
    import numpy as np

    if classes.dtype.kind in "iuf":
        if truth.dtype.kind in "iuf":
            return truth.astype(classes.dtype) if classes.dtype.kind in "iu" else truth
        numbers = _as_numbers(truth)
        if numbers is None:
            raise _mismatch(column, truth, classes, "are text while the model's classes are numbers")
        notes.append(f"labels written as text were read as numbers, the model's classes ({_names(classes)})")
        return numbers.astype(classes.dtype) if classes.dtype.kind in "iu" else numbers
    if classes.dtype.kind == "b":
        return truth
    text = np.array([_text(v) for v in truth], dtype=object)
    in_classes = {str(c) for c in classes}
    if all(v in in_classes for v in set(text.tolist())):
        return text
    folded = {str(c).casefold(): c for c in classes}
    if len(folded) == len(classes) and all(str(v).casefold() in folded for v in set(text.tolist())):
        notes.append("labels differing from the model's classes only in letter case were mapped onto them")
        return np.array([folded[str(v).casefold()] for v in text], dtype=object)
    return text


def _as_numbers(truth: np.ndarray) -> np.ndarray | None:
    """Text labels as numbers when every one is a number (`"1"`, `"1.0"`, `" 2 "`), else None."""
    import numpy as np

    try:
        numbers = np.array([float(str(v).strip()) for v in truth], dtype=float)
    except ValueError:
        return None
    if np.isnan(numbers).any():
        return None
    return numbers


def _text(value: Any) -> str:
    # 1.0 and 1 are the same class: CSV integers are read as floats
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _names(values: Any) -> str:
    shown = sorted({str(v) for v in values})
    more = f" and {len(shown) - SHOWN} more" if len(shown) > SHOWN else ""
    return ", ".join(repr(v) for v in shown[:SHOWN]) + more


def _mismatch(column: str, truth: Any, classes: Any, what: str) -> LabelMismatch:
    return LabelMismatch(
        f"the label column {column!r} cannot be compared with the model's predictions: its values "
        f"({_names(truth)}) {what} ({_names(classes)})",
        f"write the labels in {column!r} as the model's classes, or map them in the stage that writes the "
        "current data; the drift report above was still written",
    )
