"""Invalid files are never mlci's bug: generated broken `dvc.yaml`, `dvc.lock`, `.dvc`, params and
`mlci.yaml` files (a syntax error, bytes that are not UTF-8, a node of the wrong type, nesting past the
bound, an alias bomb), committed, then fed to every command. None ends in exit 3 or a traceback; each
refusal is an `error:` line (exit 2) and, for the files every command reads, names the file."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.testing.fixtures import ExampleRepo, run_cli

FILES = ["dvc.yaml", "dvc.lock", "data/raw.csv.dvc", "params.yaml", "mlci.yaml"]
COMMANDS = [
    ["affected", "--all"],
    ["train"],
    ["report"],
    ["data", "check"],
    ["deploy"],
    ["rollback", "classifier"],
    ["registry"],
    ["monitor"],
    ["profile", "--partition", "1/2", "--output", "part.json"],
    ["retrain"],
    ["doctor"],
]
# files a refusal must name: mlci.yaml (every command reads it first); dvc.yaml (for the commands that read it)
NAMED = {"mlci.yaml": {c[0] for c in COMMANDS}, "dvc.yaml": {"affected", "train", "report", "data", "deploy"}}
WRONG = [7, "text", ["a", 1], {"k": [1, {"x": None}]}, None, True]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def wrong_type(text: str, rng: random.Random) -> bytes:
    """A random node replaced by a value of another type (valid YAML, a shape DVC or mlci refuses)."""
    data = yaml.safe_load(text)
    path = rng.choice(_paths(data))
    node = data
    for part in path[:-1]:
        node = node[part]
    current = node[path[-1]]
    node[path[-1]] = rng.choice([w for w in WRONG if type(w) is not type(current)])
    return yaml.safe_dump(data, sort_keys=False).encode()


def syntax(text: str, rng: random.Random) -> bytes:
    lines = text.splitlines()
    at = rng.randrange(len(lines) + 1)
    lines.insert(at, rng.choice(["  bad: [unclosed", "\tkey: tab", "- : :", "key: 'open", "{"]))
    return "\n".join(lines).encode()


def not_utf8(text: str, rng: random.Random) -> bytes:
    data = text.encode()
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice([b"\xff\xfe", b"\xc3\x28", b"\x80"]) + data[at:]


def deep(text: str, rng: random.Random) -> bytes:
    depth = rng.choice([300, 5000])
    if rng.random() < 0.5:
        return ("stages: " + "[" * depth + "]" * depth + "\n").encode()
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)).encode()


def bomb(text: str, rng: random.Random) -> bytes:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, rng.choice([8, 10])):
        prev = "a" if i == 1 else f"a{i - 1}"
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*{prev}"] * 10) + "]")
    return ("\n".join(lines) + "\n").encode()


BREAKS: dict[str, Callable[[str, random.Random], bytes]] = {
    "syntax": syntax,
    "not-utf8": not_utf8,
    "wrong-type": wrong_type,
    "wrong-type-again": wrong_type,
    "deep": deep,
    "alias-bomb": bomb,
}


def cases() -> list[tuple[str, str, int]]:
    return [(file, kind, seed) for seed, file in enumerate(FILES) for kind in BREAKS]


@pytest.mark.slow
@pytest.mark.parametrize(("file", "kind", "seed"), cases(), ids=lambda v: str(v))
def test_a_broken_file_is_a_clean_exit_2_in_every_command(
    example_repo: ExampleRepo, file: str, kind: str, seed: int
) -> None:
    rng = random.Random(f"{file}-{kind}-{seed}")
    path = example_repo.root / file
    path.write_bytes(BREAKS[kind](path.read_text(), rng))
    example_repo.git("add", "-A")
    example_repo.git("commit", "-q", "-m", f"Break {file} ({kind})")
    # every command at least once per file: two of them per break, in turn
    start = list(BREAKS).index(kind) * 2
    chosen = [COMMANDS[(start + i) % len(COMMANDS)] for i in range(2)]
    for args in chosen:
        proc = run_cli(*args, cwd=example_repo.root, timeout=300)
        said = proc.stdout + proc.stderr
        assert proc.returncode != 3, (args, said[-3000:])
        assert "Traceback" not in said and "bug in mlci" not in said, (args, said[-3000:])
        if proc.returncode == 2:
            assert "error:" in proc.stderr, (args, said[-3000:])
        if proc.returncode == 2 and args[0] in NAMED.get(file, ()):
            assert Path(file).name in proc.stderr, (args, proc.stderr[-3000:])


def test_every_break_is_generated_for_every_file(example_repo: ExampleRepo) -> None:
    """The generators change every file they are given (the test above feeds what they make)."""
    for file in FILES:
        text = (example_repo.root / file).read_text()
        for kind, make in BREAKS.items():
            broken = make(text, random.Random(kind))
            assert broken != text.encode(), (file, kind)
