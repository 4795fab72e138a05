"""The PR's DVC experiments as a leaderboard: ranked by one metric, params that differ from head, head's
rank, the best experiment vs base, and the opt-in gates on the sweep.

`build_leaderboard` is pure: it takes what `mlci.repo.revision` read at head, base and each experiment
commit (`mlci.repo.experiments` says which), so every number is DVC's own, types kept (an integer metric
stays an integer).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlci.config import Config, ExperimentsConfig
from mlci.errors import MlciError
from mlci.metrics import Direction, MetricRow, direction_for, rows_from_values
from mlci.repo.experiments import ExpRef
from mlci.repo.revision import Snapshot

Values = dict[str, dict[str, Any]]  # file -> dotted key -> value, as DVC read it


@dataclass(frozen=True)
class Ranking:
    """The metric experiments are ranked by: `file:key`, and which way is better."""

    file: str
    key: str
    direction: Direction
    chosen_by: str  # "config", "gate" or "first metric"

    @property
    def name(self) -> str:
        return f"{self.file}:{self.key}"


@dataclass(frozen=True)
class Entry:
    """One row of the leaderboard: an experiment, or head's committed result (`name` "")."""

    name: str
    sha: str
    baseline: str
    on_head: bool  # run on the PR's head commit (else on an earlier commit of the PR)
    metrics: Values
    params: Values  # only the params whose value differs from head's
    unread: dict[str, str] = field(default_factory=dict)  # metrics file -> why it could not be read
    value: float | int | None = None  # the ranking metric (None: absent, unread or not a number)
    rank: int | None = None

    @property
    def is_head(self) -> bool:
        return not self.name


@dataclass(frozen=True)
class SweepCheck:
    """One opt-in gate on the sweep (`report.experiments.min_on_head`, `head_within[_pct]`)."""

    name: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class Leaderboard:
    ranking: Ranking | None  # None: no numeric metric anywhere to rank by
    entries: list[Entry]  # ranked (unranked last), head's row among them
    commits_read: int
    commits_total: int
    found: int  # experiments on those commits before the cap
    fetch_error: str = ""  # why the exp refs could not be fetched ("" = fetched, or not asked to)
    best_vs_base: list[MetricRow] = field(default_factory=list)
    checks: list[SweepCheck] = field(default_factory=list)
    base: Values = field(default_factory=dict)  # base's metrics, as DVC read them (best vs base)
    top: int = 10  # rows in the comment (the job summary and the JSON have all)
    columns: int = 5  # metrics per row

    @property
    def experiments(self) -> list[Entry]:
        return [e for e in self.entries if not e.is_head]

    @property
    def head(self) -> Entry | None:
        return next((e for e in self.entries if e.is_head), None)

    @property
    def best(self) -> Entry | None:
        ranked = [e for e in self.experiments if e.rank is not None]
        return ranked[0] if ranked else None

    @property
    def unread(self) -> list[Entry]:
        return [e for e in self.experiments if e.unread]

    @property
    def failed_checks(self) -> list[SweepCheck]:
        return [c for c in self.checks if not c.passed]


@dataclass(frozen=True)
class Sweep:
    """What was read: the PR's commits (newest first, head first) and each experiment with its snapshot
    (None and the reason when its revision could not be read at all)."""

    head_sha: str
    commits: Sequence[str]
    commits_total: int
    found: int
    experiments: Sequence[tuple[ExpRef, Snapshot | None, str]]
    fetch_error: str = ""


def build_leaderboard(config: Config, sweep: Sweep, head: Snapshot, base: Snapshot) -> Leaderboard:
    """Rank the sweep's experiments and head by the ranking metric (`ranking_metric`).

    Raises MlciError when `report.experiments.metric` names a metric no experiment nor head has."""
    settings = config.report.experiments
    entries = [_head_entry(sweep.head_sha, head)]
    entries += [_entry(ref, snap, why, sweep.head_sha, head.params) for ref, snap, why in sweep.experiments]
    ranking = ranking_metric(config, [e.metrics for e in entries])
    ranked = _rank(entries, ranking)
    board = Leaderboard(
        ranking=ranking,
        entries=ranked,
        commits_read=len(sweep.commits),
        commits_total=sweep.commits_total,
        found=sweep.found,
        fetch_error=sweep.fetch_error,
        top=settings.top,
        columns=settings.columns,
    )
    best = board.best
    vs_base = rows_from_values(base.metrics, best.metrics, config) if best else []
    extra = {"best_vs_base": vs_base, "checks": _checks(settings, board), "base": dict(base.metrics)}
    return Leaderboard(**{**board.__dict__, **extra})


def _head_entry(head_sha: str, head: Snapshot) -> Entry:
    return Entry("", head_sha, head_sha, True, dict(head.metrics), {}, dict(head.unread))


def _entry(ref: ExpRef, snap: Snapshot | None, why: str, head_sha: str, head_params: Values) -> Entry:
    on_head = ref.baseline == head_sha
    if snap is None:
        return Entry(ref.name, ref.sha, ref.baseline, on_head, {}, {}, {"*": why})
    changed = _changed_params(snap.params, head_params)
    return Entry(ref.name, ref.sha, ref.baseline, on_head, dict(snap.metrics), changed, dict(snap.unread))


def _changed_params(params: Values, head: Values) -> Values:
    """The params whose value differs from head's (a param head lacks counts; one only head has does not)."""
    changed: Values = {}
    for file, values in params.items():
        theirs = head.get(file, {})
        diff = {k: v for k, v in values.items() if k not in theirs or not _same(theirs[k], v)}
        if diff:
            changed[file] = diff
    return changed


def _same(a: Any, b: Any) -> bool:
    return bool(type(a) is type(b) and a == b) or (_is_nan(a) and _is_nan(b))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def ranking_metric(config: Config, metrics: Sequence[Values]) -> Ranking | None:
    """`report.experiments.metric`, else the first gate's metric, else head's first numeric metric:
    the first `file:key` (files sorted, keys in DVC's order) it matches among the rows' numeric metrics.

    Raises MlciError when the configured metric matches none."""
    names = _numeric_names(metrics)
    chosen = config.report.experiments.metric
    patterns = [(chosen, "config")] if chosen else [(g.metric, "gate") for g in config.gates[:1]]
    for pattern, why in patterns:
        found = next((n for n in names if _matches(pattern, *n)), None)
        if found:
            return Ranking(*found, direction_for(*found, config.metrics), why)
    if chosen:
        known = ", ".join(f"{f}:{k}" for f, k in names[:10]) or "none"
        raise MlciError(
            f"report.experiments.metric '{chosen}' matches no numeric metric of head or its experiments "
            f"(metrics: {known})",
            "set it to one of those (`key` or `file:key`) in mlci.yaml",
        )
    if not names:
        return None
    return Ranking(*names[0], direction_for(*names[0], config.metrics), "first metric")


def _numeric_names(metrics: Sequence[Values]) -> list[tuple[str, str]]:
    """(file, key) of every number in the rows, head's first (the rows' order), each once."""
    seen: dict[tuple[str, str], None] = {}
    for values in metrics:
        for file in sorted(values):
            for key, value in values[file].items():
                if _number(value) is not None and key != "step":
                    seen.setdefault((file, key), None)
    return list(seen)


def _matches(pattern: str, file: str, key: str) -> bool:
    if ":" in pattern:
        file_glob, key_glob = pattern.split(":", 1)
        return fnmatch.fnmatchcase(file, file_glob) and fnmatch.fnmatchcase(key, key_glob)
    return fnmatch.fnmatchcase(key, pattern)


def _number(value: Any) -> float | int | None:
    """A rankable number: int or float, not a boolean, not NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if _is_nan(value) else value


def _rank(entries: list[Entry], ranking: Ranking | None) -> list[Entry]:
    """Best first by the ranking metric; ties keep the order given (head, then newest); unranked last."""
    if ranking is None:
        return entries
    valued = [(e, _number(e.metrics.get(ranking.file, {}).get(ranking.key))) for e in entries]
    sign = -1 if ranking.direction == "higher" else 1
    ranked = sorted((p for p in valued if p[1] is not None), key=lambda p: sign * float(p[1] or 0))
    rest = [e for e, v in valued if v is None]
    return [_with(e, v, i + 1) for i, (e, v) in enumerate(ranked)] + rest


def _with(entry: Entry, value: float | int | None, rank: int) -> Entry:
    return Entry(**{**entry.__dict__, "value": value, "rank": rank})


# --- the opt-in gates on the sweep --------------------------------------------------------------


def _checks(settings: ExperimentsConfig, board: Leaderboard) -> list[SweepCheck]:
    checks: list[SweepCheck] = []
    if settings.min_on_head > 0:
        checks.append(_min_on_head(settings.min_on_head, board))
    for name, tolerance in (
        ("head_within", settings.head_within),
        ("head_within_pct", settings.head_within_pct),
    ):
        if tolerance is not None:
            checks.append(_head_within(name, tolerance, board))
    return checks


def _min_on_head(required: int, board: Leaderboard) -> SweepCheck:
    readable = [e for e in board.experiments if e.on_head and not e.unread]
    on_head = sum(e.on_head for e in board.experiments)
    why = f"{len(readable)} experiment{'s' if len(readable) != 1 else ''} with readable metrics on head"
    if on_head != len(readable):
        why += f" ({on_head - len(readable)} more unreadable)"
    if board.fetch_error:
        why += f"; the experiments could not be fetched: {board.fetch_error}"
    ok = len(readable) >= required and not board.fetch_error
    return SweepCheck("min_on_head", ok, f"{why} {'≥' if ok else '<'} min_on_head {required}")


def _head_within(name: str, tolerance: float, board: Leaderboard) -> SweepCheck:
    ranking, best, head = board.ranking, board.best, board.head
    if board.fetch_error:
        return SweepCheck(name, False, f"the experiments could not be fetched: {board.fetch_error}")
    if not board.experiments:
        return SweepCheck(name, True, "no experiments on the PR's commits: nothing to compare head with")
    if ranking is None or best is None or best.value is None:
        return SweepCheck(name, False, "no experiment has a readable value of the ranking metric")
    if head is None or head.value is None:
        return SweepCheck(name, False, f"head has no value of {ranking.name}")
    gap = (best.value - head.value) * (1 if ranking.direction == "higher" else -1)
    gap = max(gap, 0.0)
    if name == "head_within_pct":
        pct = gap / abs(best.value) * 100 if best.value else (0.0 if not gap else math.inf)
        ok = pct <= tolerance
        return SweepCheck(
            name, ok, f"head is {pct:.4g}% behind the best ({'≤' if ok else '>'} {tolerance:g}%)"
        )
    ok = gap <= tolerance
    return SweepCheck(name, ok, f"head is {gap:.4g} behind the best ({'≤' if ok else '>'} {tolerance:g})")


def flat_params(entry: Entry) -> list[tuple[str, str, Any]]:
    """(file, key, value) of the params that differ from head, files sorted."""
    return [(file, key, value) for file in sorted(entry.params) for key, value in entry.params[file].items()]


def unread_reason(entries: Sequence[Entry]) -> str:
    """The first unread file's reason, as `file: reason` (one reason says what to fix for all)."""
    for entry in entries:
        for file, why in entry.unread.items():
            return why if file == "*" else f"{file}: {why}"
    return ""
