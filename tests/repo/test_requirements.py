"""Requirements files read as pip reads them (mlci.repo.requirements): every encoding pip accepts, and
the UTF-8 copies the install step hands uv, which reads UTF-8 only."""

from __future__ import annotations

import codecs
import subprocess
import sys
from pathlib import Path

import pytest

from mlci.repo.requirements import closure, decode, utf8_copies

FREEZE = "click==8.1.7\r\nzc-lockfile==3.0.post1\r\n# a comment: naïve café\r\npandas>=2\r\n"

# every byte-order mark pip recognises, and a coding comment (latin-1 text pip decodes by it)
ENCODINGS = [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
]


@pytest.mark.parametrize(("bom", "encoding"), ENCODINGS)
def test_a_file_with_a_byte_order_mark_decodes_to_its_text(bom: bytes, encoding: str) -> None:
    decoded = decode(bom + FREEZE.encode(encoding))
    assert decoded.text == FREEZE and decoded.bom and not decoded.plain_utf8
    assert decoded.text.splitlines()[0] == "click==8.1.7"  # no "\ufeff" left for an installer to choke on


def test_a_coding_comment_names_the_encoding_and_plain_utf8_needs_no_copy() -> None:
    text = "# -*- coding: latin-1 -*-\nscikit-learn  # für die Modelle\n"
    decoded = decode(text.encode("latin-1"))
    assert decoded.text == text and decoded.encoding == "iso8859-1" and not decoded.plain_utf8
    assert decode(b"numpy\n").plain_utf8


_PIP_PARSES = """
import sys
from pip._internal.network.session import PipSession
from pip._internal.req.req_file import parse_requirements
for req in parse_requirements(sys.argv[1], session=PipSession()):
    print(req.requirement)
"""


def test_pip_agrees_with_every_encoding(tmp_path: Path) -> None:
    """pip itself is the oracle (a fresh venv's, from ensurepip): what it parses from each encoding is
    what `decode` reads."""
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "pip")], check=True)
    # not UTF-32-LE: pip checks UTF-16's mark first, which begins UTF-32-LE's, and reads garbage
    for bom, encoding in [e for e in ENCODINGS if e[1] != "utf-32-le"]:
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes(bom + FREEZE.encode(encoding))
        by_pip = subprocess.run(
            [str(tmp_path / "pip" / "bin" / "python"), "-c", _PIP_PARSES, str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        ours = [
            line for line in decode(path.read_bytes()).text.splitlines() if line and not line.startswith("#")
        ]
        assert by_pip == ours, encoding


def test_copies_are_written_beside_the_files_and_includes_point_at_them(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "requirements.txt").write_text("-r sub/base.txt\n-c pins.txt\n./localpkg\n")
    (tmp_path / "sub" / "base.txt").write_bytes(codecs.BOM_UTF16_LE + "pandas==2.2.0\n".encode("utf-16-le"))
    (tmp_path / "pins.txt").write_text("numpy<3\n")
    install, written = utf8_copies(tmp_path / "requirements.txt")
    assert install == tmp_path / ".mlci-utf8.requirements.txt"
    assert sorted(written) == sorted([install, tmp_path / "sub" / ".mlci-utf8.base.txt"])
    assert install.read_text() == "-r sub/.mlci-utf8.base.txt\n-c pins.txt\n./localpkg\n"
    assert (tmp_path / "sub" / ".mlci-utf8.base.txt").read_bytes() == b"pandas==2.2.0\n"
    assert closure(install)[1:] == [tmp_path / "sub" / ".mlci-utf8.base.txt", tmp_path / "pins.txt"]


def test_plain_utf8_files_are_given_as_they_are(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("-r base.txt\nscikit-learn\n")
    (tmp_path / "base.txt").write_text("pandas\n")
    assert utf8_copies(tmp_path / "requirements.txt") == (tmp_path / "requirements.txt", [])


def test_the_module_prints_the_file_to_install_and_exits_2_on_an_unreadable_one(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "click==8.1.7\n".encode("utf-16-le"))
    run = [sys.executable, "-m", "mlci.repo.requirements"]
    done = subprocess.run([*run, str(path)], capture_output=True, text=True, check=False)
    assert (
        done.returncode == 0
        and done.stdout.splitlines() == [str(tmp_path / ".mlci-utf8.requirements.txt")] * 2
    )
    missing = subprocess.run([*run, str(tmp_path / "nope.txt")], capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and "cannot read the requirements file" in missing.stderr
