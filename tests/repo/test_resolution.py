"""The project's requirements resolved before CI (mlci.repo.resolution, `mlci doctor`): a conflict is
told by package, both requirements and where each comes from, however the files are encoded or split."""

from __future__ import annotations

import codecs
import json
import random
import shutil
from pathlib import Path

import pytest

from mlci.repo.resolution import conflicts, resolve
from tests.testing.fixtures import ExampleRepo, run_cli

pytestmark = pytest.mark.skipif(
    shutil.which("uv") is None, reason="uv (the resolver the jobs use) is not on PATH"
)

# packages of mlci's lock, each with two versions that exist on the index (conflicts are found before
# anything is downloaded, so these resolve offline)
PAIRS = [
    ("click", "8.1.7", "8.1.8"),
    ("zc-lockfile", "3.0.post1", "4.0"),
    ("PyYAML", "6.0.1", "6.0.2"),
    ("tabulate", "0.8.10", "0.9.0"),
    ("Jinja2", "3.1.3", "3.1.4"),
]


def _utf16(text: str) -> bytes:
    return codecs.BOM_UTF16_LE + text.replace("\n", "\r\n").encode("utf-16-le")


@pytest.mark.parametrize("seed", range(4))
def test_a_direct_conflict_across_files_and_encodings_names_both_lines(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    name, one, other = rng.choice(PAIRS)
    filler = [f"{n}=={a}" for n, a, _ in PAIRS if n != name][: rng.randint(0, 3)]
    top = [*filler, "-r extra/base.txt"]
    rng.shuffle(top)
    at = rng.randint(0, len(top))
    top.insert(at, f"{name}=={one}")
    (tmp_path / "extra").mkdir()
    base = ["# pinned by the platform team", f"{name}=={other}"]
    (tmp_path / "requirements.txt").write_bytes(
        _utf16("\n".join(top) + "\n") if seed % 2 else ("\n".join(top) + "\n").encode()
    )
    (tmp_path / "extra" / "base.txt").write_text("\n".join(base) + "\n")

    result = resolve(tmp_path, "requirements.txt", "3.11")

    assert result.ok is False and result.bom == bool(seed % 2)
    (conflict,) = result.conflicts
    assert conflict.package == name.lower()
    sides = {(w.requirement, w.source) for w in conflict.wants}
    assert sides == {
        (f"{name}=={one}", f"requirements.txt:{at + 1}"),
        (f"{name}=={other}", "extra/base.txt:2"),
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extra", "requirements.txt"]  # no copy left


def test_a_dependency_of_a_requirement_is_named_as_the_side_it_comes_from(tmp_path: Path) -> None:
    """uv's words for a transitive conflict (as it prints them), turned into the two sides."""
    (tmp_path / "requirements.txt").write_text("gto==1.7.1\nscmrepo==1.0.0\n")
    said = (
        "Because gto==1.7.1 depends on scmrepo>=3,<4 and you require gto==1.7.1, we can conclude that you "
        "require scmrepo>=3,<4. And because you require scmrepo==1.0.0, we can conclude that your "
        "requirements are unsatisfiable."
    )
    (conflict,) = conflicts(said, [tmp_path / "requirements.txt"], tmp_path)
    assert conflict.package == "scmrepo"
    assert [(w.requirement, w.source) for w in conflict.wants] == [
        ("scmrepo>=3,<4", "gto==1.7.1 (requirements.txt:1) depends on it"),
        ("scmrepo==1.0.0", "requirements.txt:2"),
    ]


@pytest.mark.slow
def test_mlci_doctor_tells_the_conflict_and_exits_1(example_repo: ExampleRepo) -> None:
    example_repo.root.joinpath("requirements.txt").write_bytes(_utf16("click==8.1.7\nclick==8.1.8\n"))

    done = run_cli("doctor", cwd=example_repo.root)
    as_json = run_cli("doctor", "--format", "json", cwd=example_repo.root)

    assert done.returncode == 1, done.stderr
    assert "requirements requirements.txt (utf-16-le with a byte-order mark" in done.stdout
    assert (
        "conflict: click: click==8.1.7 (requirements.txt:1) and click==8.1.8 (requirements.txt:2)"
        in done.stdout
    )
    assert "the project's requirements do not resolve" in done.stderr
    document = json.loads(as_json.stdout)["requirements"]
    assert document["ok"] is False and document["conflicts"][0]["package"] == "click"


@pytest.mark.slow
def test_mlci_doctor_passes_requirements_that_resolve_and_refuses_a_missing_file(
    example_repo: ExampleRepo,
) -> None:
    example_repo.root.joinpath("requirements.txt").write_text("click==8.1.7\n")

    done = run_cli("doctor", cwd=example_repo.root)
    missing = run_cli("doctor", "--requirements", "nope.txt", cwd=example_repo.root)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "resolution: resolves — uv pip compile" in done.stdout
    assert missing.returncode == 2 and "--requirements nope.txt: no such file" in missing.stderr
