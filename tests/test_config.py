"""mlci.yaml: every mistake names the file, the key and a fix, and nothing is silently ignored."""

from __future__ import annotations

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
                f"{cls.__name__}.{f.name}" for f in dataclasses.fields(cls) if f"`{f.name}`" not in doc
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
