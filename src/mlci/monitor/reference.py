"""The reference side of monitoring: the training data of the production version (or what
--reference names), profiled once and cached under `monitor.profile_dir` by content hash, together
with the production model and the profile of its predictions on that data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.config import Config
from mlci.drift.profile import PROFILE_VERSION, Profile, ProfileSettings
from mlci.errors import MlciError
from mlci.fsutil import write_text_atomic
from mlci.readers import read_json

if TYPE_CHECKING:
    from mlci.monitor.inputs import Inputs
    from mlci.repo.revision import SharedRepo
    from mlci.repo.tables import Data

SAVED_FORMAT = 1


@dataclass
class Reference:
    name: str
    profile: Profile
    prediction: Profile | None
    model: Any | None  # the unpickled production model
    model_commit: str
    info: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    had_model: bool = False  # a production model was loaded (it stays true once `close` drops it)

    def close(self) -> None:
        self.had_model = self.had_model or self.model is not None
        self.model = None

    @property
    def has_model(self) -> bool:
        return self.had_model or self.model is not None


def settings_for(config: Config) -> ProfileSettings:
    monitor = config.monitor
    return ProfileSettings(bins=monitor.bins, exact_limit=monitor.large_sample, hold_rows=monitor.chunk_rows)


def load_reference(
    root: Path,
    config: Config,
    inputs: Inputs,
    commit: str,
    *,
    cache: bool = True,
    repo: SharedRepo | None = None,
) -> Reference:
    """The reference of checked `inputs` (mlci.monitor.inputs.resolve_inputs); `commit` is the
    production commit, "" (no repository, or no commit yet): files only, no model. `repo`: the run's
    one DVC Repo, for the model and DVC-tracked data."""
    from mlci.monitor.model import load_model

    name, model, opts = inputs.name, inputs.model, inputs.options
    notes: list[str] = []
    loaded = load_model(root, model.path, commit, repo) if model and model.path and commit else None
    if model is not None and not model.path:
        notes.append(f"models.{name}.path is not set: no prediction drift or decay")
    elif model is not None and not commit:
        notes.append("no commit to read the model at: no prediction drift or decay")
    if opts.reference_profile:
        profile, prediction, info = read_saved(Path(opts.reference_profile))
        if prediction is None and loaded is not None:
            notes.append("the saved reference profile has no predictions: no prediction drift")
    else:
        profile, prediction, info = _profiled(root, config, inputs, commit, loaded, cache=cache, repo=repo)
    if opts.save_profile:
        write_text_atomic(opts.save_profile, _saved_text(profile, prediction, info))
    ref = Reference(name, profile, prediction, loaded, commit, info, notes)
    return ref


def _profiled(
    root: Path,
    config: Config,
    inputs: Inputs,
    commit: str,
    loaded: Any | None,
    *,
    cache: bool = True,
    repo: SharedRepo | None = None,
) -> tuple[Profile, Profile | None, dict[str, Any]]:
    from mlci.drift.profile import build_reference
    from mlci.monitor.model import prediction_batches

    settings = settings_for(config)
    chunk = config.monitor.chunk_rows
    target = inputs.model.target if inputs.model else ""
    with _reference_data(root, inputs, commit, repo) as data:
        digest = hashlib.sha256(
            json.dumps(
                # the profile format too: a cache written by another mlci is not read back
                [
                    data.content_hash(),
                    asdict(settings),
                    commit if loaded is not None else "",
                    target,
                    PROFILE_VERSION,
                ]
            ).encode()
        ).hexdigest()
        info = {**data.describe(), "kind": "data", "hash": digest[:16]}
        saved = root / config.monitor.profile_dir / f"{digest[:32]}.json"
        if cache and saved.is_file():
            profile, prediction, _ = read_saved(saved)
            return profile, prediction, {**info, "rows": profile.rows, "cached": True}
        profile = build_reference(
            lambda: data.batches(chunk, dictionary=True),
            settings,
            info,
            binned=lambda columns: data.batches(chunk, columns, dictionary=True),
        )
        prediction = None
        if loaded is not None:
            prediction = build_reference(
                lambda: prediction_batches(loaded, data.batches(chunk), target), settings
            )
    info.update(rows=profile.rows, cached=False)
    if cache:  # outside a repository nothing is written next to the files compared
        write_text_atomic(saved, _saved_text(profile, prediction, info))
    return profile, prediction, info


def _reference_data(root: Path, inputs: Inputs, commit: str, repo: SharedRepo | None) -> Data:
    """--reference's files or its revision, else the model's training data at `commit` (the inputs were
    checked: a model with `data`, a commit)."""
    from mlci.repo.tables import Data, is_url, open_data

    if is_url(inputs.options.reference):
        return open_data(root, inputs.options.reference)
    if inputs.reference_files:
        return Data(inputs.options.reference, list(inputs.reference_files))
    rev = inputs.reference_rev or commit
    model = inputs.model
    if model is None or not model.data or not rev:  # resolve_inputs said so already
        raise AssertionError("monitor inputs not checked: no reference data")
    return open_data(root, model.data, rev=rev, repo=repo)


def _saved_text(profile: Profile, prediction: Profile | None, info: dict[str, Any]) -> str:
    body = {
        "mlci_reference_profile": SAVED_FORMAT,
        "info": info,
        "data": profile.to_json(),
        "prediction": prediction.to_json() if prediction else None,
    }
    return json.dumps(body, separators=(",", ":")) + "\n"


def read_saved(path: Path) -> tuple[Profile, Profile | None, dict[str, Any]]:
    try:
        body = read_json(path, str(path))
    except FileNotFoundError:
        raise MlciError(f"reference profile {path} not found", "write one with --save-profile FILE") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MlciError(f"reference profile {path} is not JSON: {exc}") from None
    if not isinstance(body, dict) or body.get("mlci_reference_profile") != SAVED_FORMAT:
        raise MlciError(
            f"{path} is not an mlci reference profile (format {SAVED_FORMAT})",
            "write one with `mlci monitor ... --save-profile FILE`",
        )
    profile = Profile.from_json(body.get("data"), str(path))
    pred = body.get("prediction")
    prediction = Profile.from_json(pred, str(path)) if pred else None
    info = {**(body.get("info") or {}), "kind": "profile", "profile": path.name, "rows": profile.rows}
    return profile, prediction, info
