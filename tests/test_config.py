"""mlci.yaml: every mistake names the file, the key and a fix, and nothing is silently ignored."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlci.config import Config, ConfigError, Gate, load_config, parse_config
from mlci.errors import MlciError
from tests.testing.fixtures import run_cli


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "mlci.yaml").write_text(text)
    return tmp_path


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == Config()
    assert config.deploy.stage == "prod"


def test_issue_example_gates_load_as_written(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
gates:
  - metric: "test.accuracy"   # a DVC metric key; globs allowed; "file:key" to pin a file
    min: 0.80                 # absolute bounds on the head value: min / max
    max_drop: 0.01            # change vs base: max_drop / max_rise (absolute),
  - metric: "*loss*"          #                 max_drop_pct / max_rise_pct (relative, percent)
    max_rise_pct: 5
""",
        )
    )
    assert config.gates == (
        Gate(metric="test.accuracy", min=0.8, max_drop=0.01),
        Gate(metric="*loss*", max_rise_pct=5.0),
    )


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "report:\n  id: nightly\n"))
    with pytest.raises(AttributeError):
        config.report.id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gate:\n  - metric: x\n", "mlci.yaml: unknown key 'gate', did you mean 'gates'?"),
        ("gates:\n  - metric: x\n    mni: 1\n", "mlci.yaml: unknown key 'gates[0].mni', did you mean 'min'?"),
        (
            "gates:\n  - metric: x\n    min: high\n",
            "mlci.yaml: 'gates[0].min' must be a number, got a string 'high'",
        ),
        ("gates:\n  - min: 1\n", "mlci.yaml: 'gates[0].metric' is required"),
        ("report:\n  comment: yes please\n", "'report.comment' must be true or false"),
        ("deploy:\n  targets: [local]\n", "'deploy.targets' must be a mapping, got a list"),
        ("deploy:\n  targets:\n    s3: ftp\n", "'deploy.targets.s3' must be a mapping, got a string"),
        ("models: [a, b]\n", "'models' must be a mapping, got a list"),
        ("gates:\n  - metric: x\n    min: .nan\n", "'gates[0].min' must be a number"),
        ("- just\n- a list\n", "mlci.yaml: the file must be a mapping, got a list"),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert message in str(info.value)
    assert info.value.exit_code == 2


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"invalid YAML at line 3"):
        load_config(write(tmp_path, "gates:\n  - metric: x\n   min: 1\n"))


def test_non_utf8_config(tmp_path: Path) -> None:
    (tmp_path / "mlci.yaml").write_bytes(b"report:\n  title: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(tmp_path)


def test_unknown_key_far_from_any_lists_known_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "zzzzzz: 1\n"))
    assert "known keys here: data, deploy, gates" in str(info.value)


def test_cli_exits_2_on_a_config_typo(tmp_path: Path) -> None:
    from mlci.repo.git import git

    git(tmp_path, "init", "-q")
    write(tmp_path, "gate:\n  - metric: x\n")
    proc = run_cli("event", cwd=tmp_path, env={"GITHUB_EVENT_NAME": "push"})
    assert proc.returncode == 2
    assert "unknown key 'gate', did you mean 'gates'?" in proc.stderr


def test_every_config_field_is_documented() -> None:
    import dataclasses

    from mlci import config as module

    doc = (Path(__file__).resolve().parents[1] / "docs" / "config.md").read_text()
    missing = []
    for cls in (getattr(module, name) for name in dir(module)):
        if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__:
            missing += [
                f"{cls.__name__}.{f.name}"
                for f in dataclasses.fields(cls)
                if f"`{f.name}`" not in doc and not f.metadata.get("given_keys")  # filled by the loader
            ]
    assert missing == [] or all(m.endswith(".source") for m in missing), missing


def test_one_model_lookup_for_every_command() -> None:
    two = parse_config({"models": {"churn": {"path": "a.pkl"}, "fraud": {"path": "b.pkl"}}})
    assert two.model("fraud")[0] == "fraud"
    with pytest.raises(
        MlciError,
        match=r"no model named 'frad' in mlci.yaml \(models: churn, fraud\); did you mean 'fraud'\?",
    ):
        two.model("frad")
    with pytest.raises(MlciError, match="has 2 models: say which one to deploy"):
        two.model(verb="deploy")
    one = parse_config({"models": {"churn": {"path": "a.pkl"}}})
    assert one.model() == ("churn", one.models["churn"])
    with pytest.raises(MlciError, match=r"no model is configured in mlci\.yaml"):
        parse_config({}).model()


def test_each_drift_threshold_is_declared_once_and_documented_with_its_default() -> None:
    """`DriftRule` is the one declaration: the project's `monitor:` keys, the per-column overrides and
    the engine's rule are its fields, and both docs pages show its defaults."""
    import dataclasses

    from mlci.config import ColumnThresholds, DriftRule, MonitorConfig
    from mlci.drift.engine import Rule, Thresholds

    root = Path(__file__).resolve().parents[1] / "docs"
    table, example = (root / "config.md").read_text(), (root / "monitor.md").read_text()
    names = [f.name for f in dataclasses.fields(DriftRule)]
    assert (
        issubclass(MonitorConfig, DriftRule)
        and issubclass(ColumnThresholds, DriftRule)
        and Rule is ColumnThresholds
    )
    for f in dataclasses.fields(DriftRule):
        assert f"| `{f.name}` | number | `{f.default:g}` |" in table, f.name
        assert f"  {f.name}: {f.default:g} " in example, f.name
    overridden = parse_config({"monitor": {"js": 0.3, "columns": {"a": {"psi": 0.5}, "b": {"ignore": True}}}})
    thresholds = Thresholds.from_config(overridden.monitor)
    assert (
        thresholds.rule("a").psi == 0.5 and thresholds.rule("a").js == 0.3
    )  # the project's value, not the default
    assert thresholds.rule("b").ignore and [thresholds.rule("c").js, thresholds.rule("c").psi] == [0.3, 0.2]
    assert sorted(names) == sorted(f.name for f in dataclasses.fields(Rule) if f.name in names)


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ({"traffic": [50, 10, 100]}, "'deploy.stages.s.traffic' must be rising percentages ending at 100"),
        ({"traffic": [10, 50]}, "'deploy.stages.s.traffic' must be rising percentages ending at 100"),
        ({"traffic": [0, 100]}, "'deploy.stages.s.traffic' must be rising percentages ending at 100"),
        ({"traffic": [10, 10, 100]}, "'deploy.stages.s.traffic' must be rising percentages ending at 100"),
        (
            {"check": {}},
            "'deploy.stages.s.check' needs one of `run` (a command) or `url` (an HTTP probe), not neither",
        ),
        ({"check": {"run": "x", "url": "https://a"}}, "not both"),
        ({"check": {"url": "ftp://a"}}, "'deploy.stages.s.check.url' must be an http(s) url"),
        ({"check": {"run": "x", "json": {"a": {"min": 1}}}}, "'deploy.stages.s.check.json' bounds fields"),
        (
            {"check": {"url": "https://a", "json": {"a": {}}}},
            "'deploy.stages.s.check.json.a' needs `min`, `max`",
        ),
        ({"check": {"url": "https://a", "json": {"a": {"min": 2, "max": 1}}}}, "min 2 > max 1"),
        (
            {"check": {"url": "https://a", "status": 99}},
            "'deploy.stages.s.check.status' must be an HTTP status",
        ),
        ({"check": {"run": "x", "tries": 0}}, "'deploy.stages.s.check.tries' must be at least 1"),
        ({"check": {"run": "x", "deadline": 0}}, "'deploy.stages.s.check.deadline' must be more than 0"),
        ({"check": {"run": "x", "timeout": -1}}, "'deploy.stages.s.check.timeout' must be more than 0"),
        ({"check": {"run": "x", "settle": -1}}, "'deploy.stages.s.check.settle' must be 0 seconds or more"),
        (
            {"check": {"run": "x", "retries": 3}},
            "unknown key 'deploy.stages.s.check.retries', did you mean 'tries'?",
        ),
        ({"check": {"run": "x", "tries": "many"}}, "'deploy.stages.s.check.tries' must be a whole number"),
        ({"enviroment": "prod"}, "unknown key 'deploy.stages.s.enviroment', did you mean 'environment'?"),
    ],
)
def test_a_promotion_path_is_checked_when_mlci_yaml_is_read(
    tmp_path: Path, stage: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"deploy": {"stages": {"s": stage}}})
    assert message in caught.value.message

    import yaml

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "mlci.yaml").write_text(yaml.safe_dump({"deploy": {"stages": {"s": stage}}}))
    proc = run_cli("registry", cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr


def test_a_promotion_path_keeps_its_order_and_its_defaults() -> None:
    config = parse_config(
        {
            "deploy": {
                "stages": {"staging": {"check": {"url": "https://s/health"}}, "canary": None, "prod": {}}
            }
        }
    )
    assert list(config.deploy.stages) == ["staging", "canary", "prod"]
    check = config.deploy.stages["staging"].check
    assert check is not None and (check.status, check.tries, check.deadline) == (200, 3, 300.0)
    assert config.deploy.stages["prod"].check is None and config.deploy.stages["prod"].traffic == ()
    assert config.deploy.production_stage == "prod"  # what `mlci monitor` watches: the path's end
    assert parse_config({"deploy": {"stage": "live"}}).deploy.production_stage == "live"
