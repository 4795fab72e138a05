"""`mlci.yaml`: one typed, frozen object, validated key by key.

Every section is a frozen dataclass; `load_config` walks the dataclass fields, so a key the
dataclasses do not declare, or a value of the wrong type, is an error that names the file, the key
and (for typos) the closest known key. docs/config.md documents every field below.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlci.errors import MlciError

CONFIG_FILE = "mlci.yaml"


@dataclass(frozen=True)
class ModelConfig:
    path: str = ""  # the model artifact, a DVC-tracked output
    stages: tuple[str, ...] = ()  # stages that produce it; default: found from dvc.yaml by `path`
    metrics: tuple[str, ...] = ()  # metrics files of this model; default: all of the repo's
    data: str = ""  # training data: the reference for monitoring and data checks
    target: str = ""  # label column in `data` (performance decay, label balance)
    description: str = ""
    runs_on: tuple[str, ...] = ()  # labels of the runner that trains it (train.yml); default: its runs-on


@dataclass(frozen=True)
class Gate:
    metric: str  # DVC metric key; globs allowed; "file:key" pins a file
    model: str = ""  # only this model's metrics (several models in one repo)
    min: float | None = None
    max: float | None = None
    max_drop: float | None = None
    max_rise: float | None = None
    max_drop_pct: float | None = None
    max_rise_pct: float | None = None


@dataclass(frozen=True)
class MetricsConfig:
    lower_is_better: tuple[str, ...] = ()  # globs, added to the built-in loss/error/mae/rmse/... names
    higher_is_better: tuple[str, ...] = ()  # globs that override the built-in names


@dataclass(frozen=True)
class ExperimentsConfig:
    """`report.experiments`: the DVC experiments of the PR's commits, ranked (docs/report.md, Experiments)."""

    enabled: bool = True
    fetch: Literal["ci", "always", "never"] = (
        "ci"  # fetch the PR's exp refs from origin: in Actions only, ...
    )
    metric: str = ""  # the ranking metric ("key" or "file:key"); default: the first gated metric
    top: int = 10  # experiments shown in the comment (the job summary and the JSON have all)
    columns: int = 5  # metrics shown per experiment, the ranking metric first
    max_commits: int = 50  # PR commits whose experiments are read, newest first
    max_experiments: int = 500  # experiments read, newest first
    min_on_head: int = 0  # gate: at least this many experiments on head (0: no gate)
    head_within: float | None = None  # gate: head's metric at most this far from the best experiment's
    head_within_pct: float | None = None  # the same, in percent of the best experiment's value


@dataclass(frozen=True)
class ReportConfig:
    id: str = "default"  # one sticky comment per PR and report id
    title: str = "mlci report"
    comment: bool = True
    check_run: bool = True
    plots: bool = True
    max_plot_points: int = 60
    experiments: ExperimentsConfig = ExperimentsConfig()


@dataclass(frozen=True)
class TrainConfig:
    remote: str = ""  # DVC remote name; default: the repo's default remote
    pull: bool = True
    push: bool = True
    commit_message: str = "mlci: update results [skip ci]"


@dataclass(frozen=True)
class Bound:
    """One JSON field's accepted range in an HTTP check (either end may be open)."""

    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class CheckConfig:
    """`deploy.stages.<stage>.check`: what proves a delivered model works. A `run` command (exit 0 passes)
    or an HTTP probe of `url` (the `status`, and each dotted `json` field within its bounds)."""

    run: str = ""  # a shell command, in the repository root, with the command target's MLCI_* variables
    url: str = ""  # GET this url
    status: int = 200  # the status the probe expects
    json: dict[str, Bound] = field(default_factory=dict)  # dotted field of the JSON answer → its bounds
    settle: float = 0.0  # seconds to wait after the delivery before the first try
    tries: int = 3  # tries before the check fails
    interval: float = 5.0  # seconds between tries
    timeout: float = 10.0  # seconds for one try
    deadline: float = 300.0  # seconds for the whole check, settle included; past it the check fails


@dataclass(frozen=True)
class StageConfig:
    """`deploy.stages.<stage>`: one step of the promotion path (the mapping's order is the path)."""

    target: str = ""  # a name in deploy.targets; default deploy.target
    environment: str = ""  # the GitHub environment; default the stage's name
    check: CheckConfig | None = None  # the check after each delivery; none: delivered is live
    traffic: tuple[int, ...] = ()  # canary steps in percent, e.g. [10, 50, 100]; the last is 100


@dataclass(frozen=True)
class DeployConfig:
    stage: str = "prod"
    environment: str = "production"  # GitHub Deployments environment
    target: str = "local"
    # name → that target's section (`type` and its keys), parsed by its type in mlci.deploy.targets, which
    # also keeps `local` available unless redefined (a user's `targets:` replaces this dict)
    targets: dict[str, dict[str, Any]] = field(default_factory=lambda: {"local": {}})
    release: bool = False  # also a GitHub Release with the model card and the artifact
    remote: str = "origin"  # git remote the registry tags are fetched from and pushed to
    bump: Literal["major", "minor", "patch"] = "patch"  # default version bump of a new registration
    # the promotion path, first stage first: merge deploys to the first, `mlci promote` moves on
    stages: dict[str, StageConfig] = field(default_factory=dict)

    @property
    def production_stage(self) -> str:
        """The stage monitoring watches: the last of the promotion path, else `stage`."""
        return next(reversed(self.stages)) if self.stages else self.stage


def _threshold(default: float, applies: str, meaning: str) -> Any:
    """One drift threshold: its default, the column families it decides, and what it means (the
    config docs table and docs/monitor.md are checked against these, tests/test_config.py)."""
    return field(default=default, metadata={"applies": applies, "meaning": meaning})


@dataclass(frozen=True)
class DriftRule:
    """The thresholds that decide one column: declared once, here. `MonitorConfig` holds them as its
    project-wide values; `monitor.columns.NAME` overrides some of them for one column."""

    p_value: float = _threshold(
        0.01, "every test", "significance of every test, after Benjamini–Hochberg across the run's tests"
    )
    psi: float = _threshold(0.2, "numeric", "population stability index on the reference's decile bins")
    wasserstein: float = _threshold(0.1, "numeric", "Wasserstein distance in reference standard deviations")
    js: float = _threshold(0.1, "categorical, time", "Jensen–Shannon distance (base 2) on the pooled counts")
    missing_rate: float = _threshold(0.05, "every family", "absolute change of the share of missing values")
    unseen_share: float = _threshold(
        0.01,
        "categorical",
        "share of rows holding values the reference never had, beyond the share a same-distribution "
        "sample would show (Good–Turing: the reference's singletons)",
    )
    rate: float = _threshold(
        0.25, "time", "relative change of the rows per unit of time of a time column (0.25: ×1.25 or ÷1.25)"
    )


@dataclass(frozen=True)
class ColumnThresholds(DriftRule):
    """`monitor.columns.NAME`: `ignore`, or some thresholds of `DriftRule` for this column."""

    ignore: bool = False
    # the keys written in mlci.yaml (filled by the loader): only those override the project's values
    given_keys: tuple[str, ...] = field(default=(), compare=False, metadata={"given_keys": True})


@dataclass(frozen=True)
class MonitorConfig(DriftRule):
    # the data to monitor when `mlci monitor` has no --current (the action's `command: auto` on a schedule):
    # a file, glob, folder or DVC-tracked path, relative to the project's folder, or an object-storage URL
    # (s3://, gs://, azure://, az://, https://)
    current: str = ""
    # conditions on monitor.current's partition folders (KEY=VALUE), ANDed: `mlci monitor --where`
    where: tuple[str, ...] = ()
    drift_share: float = 0.3  # dataset drift when this share of columns drifted
    large_sample: int = 5000  # up to this many values per side: exact tests on them; above: binned
    bins: int = 10
    chunk_rows: int = 200_000
    profile_dir: str = ".mlci/profiles"
    columns: dict[str, ColumnThresholds] = field(default_factory=dict)


@dataclass(frozen=True)
class RetrainConfig:
    mode: Literal["append", "replace", "update", "command"] = "append"
    # `.dvc`-tracked training data to update; default: the model's `data`, or (when a stage writes
    # that) the one `.dvc`-tracked file it is made from
    dataset: str = ""
    command: str = ""  # mode=command
    branch_prefix: str = "mlci/retrain"
    labels: tuple[str, ...] = ("mlci", "retrain")
    reviewers: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    dispatch_workflow: str = ""  # with only GITHUB_TOKEN: workflow file to dispatch on the branch


@dataclass(frozen=True)
class ColumnContract:
    type: Literal["int", "float", "number", "str", "bool", "category", "datetime", "any"] = "any"
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetContract:
    path: str = ""
    columns: dict[str, ColumnContract] = field(default_factory=dict)
    strict_columns: bool = True  # columns not declared are a violation
    unique: tuple[str, ...] = ()
    min_rows: int | None = None
    max_rows: int | None = None
    label: str = ""
    min_class_share: float | None = None
    drift_fails: bool = True  # drift versus base is a failed data gate


@dataclass(frozen=True)
class DataConfig:
    datasets: dict[str, DatasetContract] = field(default_factory=dict)
    profile_cache: str = ".mlci/profiles"
    # a dataset without a declared contract is checked against the one inferred from the base
    # (types, nullability, categories; no ranges) and for drift; true: those findings fail the
    # data gate too (default: report only, as warnings)
    gate_inferred: bool = False
    max_examples: int = 3  # example rows shown per violation
    max_categories: int = 20  # `mlci data infer`: a text column with at most this many values gets `allowed`


@dataclass(frozen=True)
class GitHubConfig:
    outbox: str = ".mlci/outbox"
    timeout: float = 30.0
    max_wait: float = 300.0  # longest wait for a primary rate-limit reset


@dataclass(frozen=True)
class MlflowConfig:
    """`mlflow:`: the MLflow tracking server whose runs the PR report shows beside DVC's metrics
    (docs/mlflow.md). Credentials are never keys here: MLFLOW_TRACKING_TOKEN, or
    MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, in the environment."""

    experiment: str  # the experiment's name; its runs are searched for each commit
    tracking_uri: str = ""  # http(s) URL of the tracking server; default: MLFLOW_TRACKING_URI
    # the run tag that holds the commit; MLflow sets `mlflow.source.git.commit` itself when a run starts in
    # a git checkout. Several runs of one commit: the latest FINISHED one (by end time) is shown
    run_tag: str = "mlflow.source.git.commit"
    params: bool = True  # show the runs' params beside DVC's
    timeout: float = 10.0  # seconds per call, answer included; a server that does not answer is exit 2


@dataclass(frozen=True)
class Config:
    models: dict[str, ModelConfig] = field(default_factory=dict)
    gates: tuple[Gate, ...] = ()
    metrics: MetricsConfig = MetricsConfig()
    report: ReportConfig = ReportConfig()
    train: TrainConfig = TrainConfig()
    deploy: DeployConfig = DeployConfig()
    monitor: MonitorConfig = MonitorConfig()
    retrain: RetrainConfig = RetrainConfig()
    data: DataConfig = DataConfig()
    github: GitHubConfig = GitHubConfig()
    mlflow: MlflowConfig | None = None  # absent: the report reads no MLflow runs
    source: str = field(default="", compare=False)  # the file it came from, for messages

    def model(self, name: str = "", *, verb: str = "use") -> tuple[str, ModelConfig]:
        """The one lookup of a model by name for every command: `(name, its config)`.

        No name: the only configured model. Raises MlciError (exit 2) for an unknown name (naming the
        closest known one), for no models at all, and for several models and no name ("say which one
        to `verb`").
        """
        where = self.source or CONFIG_FILE
        known = ", ".join(sorted(self.models)) or "none"
        if name:
            if name in self.models:
                return name, self.models[name]
            close = difflib.get_close_matches(name, list(self.models), n=1)
            also = f"; did you mean '{close[0]}'?" if close else ""
            raise MlciError(
                f"no model named '{name[:80]}' in {where} (models: {known}){also}",
                "add it under `models:` with its `path`, or pick one of the configured models",
            )
        if len(self.models) == 1:
            return next(iter(self.models.items()))
        if not self.models:
            raise MlciError(
                f"no model is configured in {where}",
                "add one:  models: {my-model: {path: models/model.pkl, data: data/train.csv}}",
            )
        raise MlciError(
            f"{where} has {len(self.models)} models: say which one to {verb}",
            f"give NAME, one of {known}",
        )


class ConfigError(MlciError):
    pass


def load_config(repo_root: Path | str, filename: str = CONFIG_FILE) -> Config:
    """Read `mlci.yaml` (absent → defaults) into a validated, frozen Config."""
    path = Path(repo_root) / filename
    if not path.exists():
        return Config(source=str(filename))
    raw = _read_yaml(path, filename)
    if raw is None:
        return Config(source=filename)
    return parse_config(raw, filename)


def parse_config(raw: Any, filename: str = CONFIG_FILE) -> Config:
    """Validate an already-parsed mapping (tests, `mlci init`)."""
    config: Config = _build(Config, raw or {}, filename, "")
    _check_stages(config.deploy.stages, filename)
    return dataclasses.replace(config, source=filename)


def _check_stages(stages: dict[str, StageConfig], filename: str) -> None:
    """What the schema of `deploy.stages` cannot say; raises ConfigError naming the key."""
    for name, stage in stages.items():
        where = f"deploy.stages.{name}"
        steps = stage.traffic
        if steps and (
            any(not 0 < s <= 100 for s in steps) or list(steps) != sorted(set(steps)) or steps[-1] != 100
        ):
            raise ConfigError(
                f"{filename}: '{where}.traffic' must be rising percentages ending at 100, got {list(steps)}",
                "e.g. traffic: [10, 50, 100]",
            )
        if stage.check is not None:
            _check_check(stage.check, filename, f"{where}.check")


def _check_check(check: CheckConfig, filename: str, where: str) -> None:
    if bool(check.run.strip()) == bool(check.url):
        raise ConfigError(
            f"{filename}: '{where}' needs one of `run` (a command) or `url` (an HTTP probe), not "
            + ("both" if check.url else "neither"),
            "e.g. check: {url: https://staging.example.com/health, json: {accuracy: {min: 0.8}}}",
        )
    if check.url and not check.url.startswith(("http://", "https://")):
        raise ConfigError(f"{filename}: '{where}.url' must be an http(s) url, got {check.url!r}")
    if check.json and not check.url:
        raise ConfigError(f"{filename}: '{where}.json' bounds fields of the HTTP answer: set `url` too")
    if not 100 <= check.status <= 599:
        raise ConfigError(f"{filename}: '{where}.status' must be an HTTP status, got {check.status}")
    if check.tries < 1:
        raise ConfigError(f"{filename}: '{where}.tries' must be at least 1, got {check.tries}")
    for key in ("timeout", "deadline"):
        if getattr(check, key) <= 0:
            raise ConfigError(f"{filename}: '{where}.{key}' must be more than 0 seconds")
    for key in ("settle", "interval"):
        if getattr(check, key) < 0:
            raise ConfigError(f"{filename}: '{where}.{key}' must be 0 seconds or more")
    for path, bound in check.json.items():
        if bound.min is None and bound.max is None:
            raise ConfigError(f"{filename}: '{where}.json.{path}' needs `min`, `max` or both")
        if bound.min is not None and bound.max is not None and bound.min > bound.max:
            raise ConfigError(f"{filename}: '{where}.json.{path}': min {bound.min:g} > max {bound.max:g}")


def _read_yaml(path: Path, filename: str) -> Any:
    """mlci.yaml through the one bounded reader (size, depth, aliases; line and column of an error)."""
    from mlci.readers import read_yaml

    try:
        return read_yaml(path, filename, "check indentation and quoting")
    except MlciError as exc:
        raise ConfigError(exc.message, exc.hint) from None


def build_section(cls: type[Any], raw: Any, filename: str, where: str) -> Any:
    """Validate `raw` (parsed YAML) into the frozen dataclass `cls`, as the rest of mlci.yaml is: for a
    section whose schema lives with its owner (a deploy target's type). `where` is its key path, for messages.

    Raises ConfigError (exit 2) for a key `cls` does not declare, a wrong value or a missing required key.
    """
    return _build(cls, raw, filename, where)


def _build(cls: type[Any], raw: Any, filename: str, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{filename}: {where or 'the file'} must be a mapping, got {_kind(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    values: dict[str, Any] = {}
    given = [f.name for f in fields.values() if f.metadata.get("given_keys")]
    for key, value in raw.items():
        name = str(key)
        if name not in fields or name in given:
            raise _unknown_key(filename, _join(where, name), name, fields)
        values[name] = _convert(hints[name], value, filename, _join(where, name))
    missing = [
        name
        for name, f in fields.items()
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and name not in values
    ]
    if missing:
        raise ConfigError(f"{filename}: '{_join(where, missing[0])}' is required", None)
    if given:
        values[given[0]] = tuple(values)
    return cls(**values)


def _convert(tp: Any, value: Any, filename: str, where: str) -> Any:
    if tp is Any:  # a section its owner validates (build_section)
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, filename, where)
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{filename}: '{where}' must be one of {choices}, got {value!r}")
        return value
    if origin is tuple:
        items = value if isinstance(value, list) else [value] if isinstance(value, str) else None
        if items is None:
            raise ConfigError(f"{filename}: '{where}' must be a list, got {_kind(value)}")
        return tuple(_convert(args[0], item, filename, f"{where}[{i}]") for i, item in enumerate(items))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{filename}: '{where}' must be a mapping, got {_kind(value)}")
        return {
            str(k): _convert(args[1], v if v is not None else {}, filename, f"{where}.{k}")
            for k, v in value.items()
        }
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, value if value is not None else {}, filename, where)
    return _scalar(tp, value, filename, where)


def _scalar(tp: Any, value: Any, filename: str, where: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            return float(value)
    elif tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    else:  # pragma: no cover - a field type this loader does not know is a bug here
        raise TypeError(f"unsupported config type {tp!r}")
    raise ConfigError(f"{filename}: '{where}' must be {_TYPE_WORDS[tp]}, got {_kind(value)} {value!r}")


_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _unknown_key(filename: str, where: str, name: str, fields: typing.Iterable[str]) -> ConfigError:
    known = sorted(fields)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return ConfigError(f"{filename}: unknown key '{where}', did you mean '{close[0]}'?")
    return ConfigError(f"{filename}: unknown key '{where}'", "known keys here: " + ", ".join(known))
