"""One pass over a dataset: contract stats, row hashes, the drift profile and contract violations.

The base side is cached under `data.profile_cache` by the content hash DVC recorded for it, so data
that did not change is read once, ever: a cached base needs neither the DVC cache nor the remote.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlci.config import Config, DatasetContract
from mlci.data.arrowcols import encode_text
from mlci.data.contract import ContractChecker, Violation
from mlci.data.datasets import recorded_hash
from mlci.data.stats import DataStats, StatsBuilder
from mlci.drift.profile import Profile, ProfileBuilder, ProfileSettings, build_reference
from mlci.drift.stats import preload
from mlci.errors import MlciError
from mlci.fsutil import write_bytes_atomic, write_text_atomic
from mlci.readers import read_json
from mlci.repo.tables import open_data, read_batches

# 2: row hashes from Arrow buffers (mlci.data.arrowcols), no longer pandas' hash_pandas_object
CACHE_VERSION = 2


@dataclass
class Snapshot:
    stats: DataStats
    hashes: Any  # numpy uint64, one per row
    profile: Profile | None
    violations: list[Violation] = field(default_factory=list)
    cached: bool = False


def profile_settings(config: Config) -> ProfileSettings:
    # as `mlci monitor` profiles its reference (monitor.reference.settings_for)
    monitor = config.monitor
    return ProfileSettings(bins=monitor.bins, exact_limit=monitor.large_sample, hold_rows=monitor.chunk_rows)


def scan_base(root: Path, config: Config, path: str, rev: str) -> Snapshot | None:
    """The base side (stats, row hashes, reference profile); None when `path` is not there at `rev`."""
    key = recorded_hash(root, rev, path)
    if key is None:
        return None
    settings = profile_settings(config)
    cache = _cache_path(root, config, key, settings)
    cached = _load(cache)
    if cached is not None:
        return cached
    builder = StatsBuilder()
    passes = 0
    with open_data(root, path, rev, cwd=root) as data:

        def batches() -> Iterator[Any]:
            nonlocal passes
            passes += 1
            for batch in data.batches(config.monitor.chunk_rows, text_codes=True):
                batch = encode_text(batch)
                if passes == 1:  # a second pass (bin counts of big data) must not count twice
                    builder.update(batch)
                yield batch

        profile = build_reference(batches, settings, {"path": path, "rev": rev, "hash": key})
    stats, hashes = builder.finish()
    snapshot = Snapshot(stats, hashes, profile)
    _save(cache, snapshot)
    return snapshot


def scan_head(
    root: Path,
    config: Config,
    path: str,
    rev: str | None,
    contract: DatasetContract | None,
    reference: Profile | None,
) -> Snapshot:
    """The head side in one pass: stats, contract violations, and a profile in the base's bins."""
    builder = StatsBuilder()
    checker = ContractChecker(contract, config.data.max_examples) if contract else None
    profiler = ProfileBuilder(reference.settings, reference=reference) if reference else None
    if reference is not None:
        preload()  # drift's p-values follow this pass: their import overlaps the reading
    with open_data(root, path, rev, cwd=root) as data:
        several = len(data.files) > 1
        for i, file in enumerate(data.files):
            name = data.names[i] if i < len(data.names) else Path(file).relative_to(root).as_posix()
            first = 1
            for batch in read_batches(
                file, config.monitor.chunk_rows, name=name, text_codes=True, store=data.store
            ):
                batch = encode_text(batch)  # text the reader did not hand over as codes
                builder.update(batch)
                if checker is not None:
                    checker.update(batch, first, name if several else "")
                if profiler is not None:
                    profiler.add(batch)
                first += batch.num_rows
    stats, hashes = builder.finish()
    violations = checker.finish(stats) if checker else []
    return Snapshot(
        stats, hashes, profiler.finish({"path": path, "rev": rev}) if profiler else None, violations
    )


# --- the cache ----------------------------------------------------------------------------------


def _cache_path(root: Path, config: Config, key: str, settings: ProfileSettings) -> Path:
    recipe = json.dumps([CACHE_VERSION, key, asdict(settings)], sort_keys=True)
    name = hashlib.sha256(recipe.encode()).hexdigest()[:32]
    from mlci.safety import repo_path

    return repo_path(root, config.data.profile_cache, "data.profile_cache in mlci.yaml") / f"data-{name}.json"


def _load(cache: Path) -> Snapshot | None:
    import numpy as np

    hashes_file = cache.with_suffix(".npy")
    if not (cache.is_file() and hashes_file.is_file()):
        return None
    try:
        data = read_json(cache, cache.name)
        stats = DataStats.from_json(data["stats"])
        profile = Profile.from_json(data["profile"], where=str(cache.name))
        hashes = np.load(hashes_file, allow_pickle=False)
    except (ValueError, KeyError, TypeError, OSError, MlciError):
        return None  # a broken cache entry is rebuilt, not an error
    return Snapshot(stats, hashes, profile, cached=True)


def _save(cache: Path, snapshot: Snapshot) -> None:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, snapshot.hashes, allow_pickle=False)
    write_bytes_atomic(cache.with_suffix(".npy"), buffer.getvalue())
    profile = snapshot.profile.to_json() if snapshot.profile else None
    write_text_atomic(cache, json.dumps({"stats": snapshot.stats.to_json(), "profile": profile}))
