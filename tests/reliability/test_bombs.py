"""YAML and JSON bombs from a pull request (params, metrics, dvc.yaml, dvc.lock): bounded before DVC
or mlci parse them, exit 2 naming the file and the limit, fast (no timing assertion: the run finishes
at all instead of exhausting memory)."""

from __future__ import annotations

import pytest

from tests.testing.fixtures import ExampleRepo, run_cli

LAUGHS = "lol0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
)
BOMBS = {
    "params.yaml": ("\n" + LAUGHS, "nodes through YAML aliases"),
    "metrics.json": ("[" * 5000 + "]" * 5000, "nested more than 200 levels"),
    "dvc.yaml": ("\nx: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 200 levels"),
    "dvc.lock": ("\n" + LAUGHS, "nodes through YAML aliases"),
}


@pytest.mark.parametrize("file", list(BOMBS))
@pytest.mark.parametrize("where", ["commit", "workspace"])
def test_a_bomb_is_refused_before_parsing(file: str, where: str, example_repo: ExampleRepo) -> None:
    base = example_repo.head()
    text, limit = BOMBS[file]
    path = example_repo.root / file
    path.write_text(text if file.endswith(".json") else path.read_text() + text)
    args = ["--base", base]
    if where == "commit":
        args += ["--head", example_repo.commit(f"A bomb in {file}")]

    proc = run_cli("report", *args, cwd=example_repo.root, timeout=120)

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{file}:" in proc.stderr and limit in proc.stderr, proc.stderr
