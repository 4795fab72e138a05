"""The production model loaded and scored in the project's environment (docs/architecture.md, "Two
environments"): when the install step made one (`MLCI_PROJECT_ENV`), the model's pickle is never
unpickled in mlci's process; a child process of the project's Python (mlci/monitor/_scorer.py) unpickles
it with the project's own packages (its scikit-learn, its code) and scores each chunk of data.

Data crosses as plain Python values (lists of numbers and strings), so the two environments may hold
different versions of NumPy and pandas.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
from pathlib import Path
from typing import IO, Any

from mlci.errors import MlciError

SCORER = Path(__file__).with_name("_scorer.py")


class ProjectModel:
    """A regressor (or any model with `predict`) living in the project's environment."""

    def __init__(self, python: Path, data: bytes, where: str) -> None:
        self.where = where
        self.python = python
        try:
            self._proc = subprocess.Popen(
                [str(python), str(SCORER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=dict(os.environ),
            )
        except OSError as exc:
            raise MlciError(f"cannot start the project's Python {python}: {exc}") from None
        info = self._call("load", data, loading=True)
        self.proba: bool = bool(info["proba"])
        if info["features"] is not None:
            self.feature_names_in_ = list(info["features"])
        self._classes = info["classes"]

    def predict(self, frame: Any) -> Any:
        import numpy as np

        return np.asarray(self._call("predict", _columns(frame)))

    def _call(self, kind: str, payload: Any, *, loading: bool = False) -> Any:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            data = pickle.dumps((kind, payload), protocol=4)
            self._proc.stdin.write(struct.pack(">Q", len(data)) + data)
            self._proc.stdin.flush()
            status, value = _read(self._proc.stdout)
        except (OSError, EOFError, struct.error):
            code = self._proc.poll()
            raise MlciError(
                f"the project's Python {self.python} stopped while {'loading' if loading else 'scoring'} "
                f"the model {self.where} (exit {code}; its error is above)",
                "check that the project's requirements install and import (`mlci doctor`)",
            ) from None
        if status == "ok":
            return value
        name, message = value
        if loading:
            raise MlciError(
                f"cannot load the model {self.where} in the project's environment: {name}: {message}",
                "the project's requirements must install what the model was pickled with (its "
                "scikit-learn, its own code)",
            )
        raise ValueError(f"{name}: {message}")  # mlci.monitor.model.predict says what to change


class ProjectClassifier(ProjectModel):
    """A classifier: `predict_proba` and `classes_` too (mlci.monitor.model.is_classifier)."""

    @property
    def classes_(self) -> Any:
        import numpy as np

        return np.asarray(self._classes)

    def predict_proba(self, frame: Any) -> Any:
        import numpy as np

        return np.asarray(self._call("predict_proba", _columns(frame)), dtype=float)


def open_model(project: str, data: bytes, where: str) -> ProjectModel:
    """The model pickled in `data`, loaded by the project environment `project` (a folder)."""
    from mlci.repo.dvc import project_python

    python = project_python(project)
    model = ProjectModel(python, data, where)
    if model.proba and model._classes is not None:
        model.__class__ = ProjectClassifier
    return model


def _columns(frame: Any) -> tuple[list[str], list[list[Any]]]:
    names = [str(c) for c in frame.columns]
    return names, [frame[c].tolist() for c in frame.columns]


def _read(stream: IO[bytes]) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = struct.unpack(">Q", head)
    return pickle.loads(stream.read(size))
