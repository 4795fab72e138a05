"""Reading tables in chunks: CSV, Parquet, globs, folders, and DVC-tracked paths at a revision."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlci.errors import MlciError
from mlci.repo.tables import dictionary_read, open_data
from mlci.repo.tables import plain as plain_batch
from tests.testing.fixtures import ExampleRepo


def rows(data_batches) -> int:  # type: ignore[no-untyped-def]
    return sum(b.num_rows for b in data_batches)


def test_csv_in_chunks_survives_a_float_after_many_integers(tmp_path: Path) -> None:
    n = 300_000  # several CSV blocks: the first one sees integers only
    values = [str(i % 1000) for i in range(n - 1)] + ["1.5"]
    (tmp_path / "data.csv").write_text("x,label\n" + "\n".join(f"{v},k{i % 3}" for i, v in enumerate(values)))
    with open_data(tmp_path, "data.csv", cwd=tmp_path) as data:
        batches = list(data.batches(chunk_rows=20_000))
    assert len(batches) > 1
    assert rows(batches) == n
    assert pa.types.is_floating(batches[-1].schema.field("x").type)
    assert batches[-1].column("x").to_pylist()[-1] == 1.5


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("last_newline", [True, False])
def test_csv_blocks_keep_every_row_and_the_types_of_the_first_block(
    tmp_path: Path, ending: str, last_newline: bool
) -> None:
    n = 20_000  # ~400 kB: blocks of 64 kB, each ending inside a line of the file
    lines = ['id,x,note,"a, b"']
    for i in range(n):
        note = "" if i < 5_000 else f"n{i % 7}"  # empty in the first rows: a text column all the same
        lines.append(f"{i},{i % 100 / 4},{note},{i % 3}")
    body = ending.join(lines) + (ending if last_newline else "")
    (tmp_path / "data.csv").write_text(body, newline="")
    with open_data(tmp_path, "data.csv", cwd=tmp_path) as data:
        batches = list(data.batches(chunk_rows=100))  # the smallest block: 64 kB
    assert len(batches) > 4
    table = pa.Table.from_batches(batches)
    assert table.schema.names == ["id", "x", "note", "a, b"]
    assert table.column("id").to_pylist() == [float(i) for i in range(n)]  # no row lost or doubled
    assert table.column("x").to_pylist()[-1] == (n - 1) % 100 / 4
    assert table.column("note").null_count == 5_000
    assert table.column("note").to_pylist()[-1] == f"n{(n - 1) % 7}"
    assert pa.types.is_floating(table.schema.field("a, b").type)  # integers read as float64
    assert pa.types.is_string(table.schema.field("note").type)  # empty at first: text


def test_csv_text_as_dictionary_codes_reads_the_same_values(tmp_path: Path) -> None:
    lines = ["id,note,band"] + [
        f"{i},{'' if i < 5_000 else f'n{i % 7}'},{'abc'[i % 3]}" for i in range(20_000)
    ]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    with open_data(tmp_path, "data.csv", cwd=tmp_path) as data:
        plain = list(data.batches(chunk_rows=100))
        coded = list(data.batches(chunk_rows=100, text_codes=True))
    assert len(coded) == len(plain) > 2
    for p, c in zip(plain, coded, strict=True):
        assert dictionary_read(c) == {"note", "band"} and not dictionary_read(p)
        assert pa.types.is_dictionary(c.schema.field("band").type)
        assert plain_batch(c).to_pydict() == p.to_pydict()


def test_a_csv_with_only_a_header_has_no_rows_and_a_line_longer_than_a_block_is_read(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("a,b\n")
    with open_data(tmp_path, "empty.csv", cwd=tmp_path) as data:
        assert rows(data.batches()) == 0
    long_text = "y" * 200_000  # longer than the 64 kB blocks
    (tmp_path / "long.csv").write_text(f"a,b\n1,x\n2,{long_text}\n3,z\n")
    with open_data(tmp_path, "long.csv", cwd=tmp_path) as data:
        table = pa.Table.from_batches(list(data.batches(chunk_rows=100)))
    assert table.column("b").to_pylist() == ["x", long_text, "z"]


def test_globs_and_folders_of_parquet_and_csv(tmp_path: Path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    frame = pd.DataFrame({"a": range(10), "b": ["x"] * 10})
    pq.write_table(pa.Table.from_pandas(frame), folder / "day1.parquet")
    frame.to_csv(folder / "day2.csv", index=False)
    (folder / "notes.txt").write_text("not data")
    with open_data(tmp_path, "incoming", cwd=tmp_path) as data:
        assert [p.name for p in data.files] == ["day1.parquet", "day2.csv"]
        assert rows(data.batches()) == 20
    with open_data(tmp_path, "incoming/*.parquet", cwd=tmp_path) as data:
        assert rows(data.batches(chunk_rows=3)) == 10
    with pytest.raises(MlciError, match=r"notes\.txt is neither CSV nor Parquet"):
        open_data(tmp_path, "incoming/*", cwd=tmp_path)


def test_a_broken_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_text("this is not parquet")
    with (
        open_data(tmp_path, "bad.parquet", cwd=tmp_path) as data,
        pytest.raises(MlciError, match=r"bad\.parquet"),
    ):
        list(data.batches())


def test_dvc_tracked_data_at_an_old_revision(example_repo: ExampleRepo) -> None:
    first = example_repo.head()
    example_repo.set_param("prepare.test_size", 0.5)
    example_repo.retrain("Half the data for testing")
    old = example_repo.dvc("get", ".", "data/prepared/train.csv", "--rev", first, "-o", "../old.csv")
    assert old is not None
    expected = len(pd.read_csv(example_repo.root.parent / "old.csv"))
    now = len(pd.read_csv(example_repo.root / "data/prepared/train.csv"))
    assert expected != now
    with open_data(example_repo.root, "data/prepared/train.csv", rev=first) as data:
        assert rows(data.batches()) == expected
        assert data.rev == first
        assert ".dvc/cache" in data.files[0].as_posix()  # read in place from the local cache


def test_dvc_data_missing_locally_is_fetched_from_the_remote(example_repo: ExampleRepo) -> None:
    shutil.rmtree(example_repo.root / ".dvc" / "cache")
    head = example_repo.head()
    with open_data(example_repo.root, "data/prepared", rev=head) as data:
        names = [Path(n).name for n in data.names]
        assert names == ["test.csv", "train.csv"]
        tmp = data.files[0].parent
        assert rows(data.batches()) == len(pd.read_csv(example_repo.root / "data/raw.csv"))
    assert not tmp.exists()  # the fetched copies are removed


def test_neither_a_file_nor_a_dvc_path(example_repo: ExampleRepo) -> None:
    with pytest.raises(MlciError, match=r"no data at nowhere\.csv") as info:
        open_data(example_repo.root, "nowhere.csv", cwd=example_repo.root)
    assert info.value.hint and "glob" in info.value.hint


def test_dvc_data_behind_a_remote_whose_plugin_is_missing_names_the_remote_and_the_plugin(
    example_repo: ExampleRepo,
) -> None:
    """Not "no data at data/raw.csv" (DVC's exists() answers False when it cannot load the plugin):
    the remote, the missing plugin and the requirement to install."""
    from mlci.repo.remote import plugin_requirement

    # the S3 plugin is installed for the S3 tests; Google Cloud Storage's is not
    example_repo.dvc("remote", "modify", "--local", "storage", "url", "gs://models-bucket/dvc")
    shutil.rmtree(example_repo.root / ".dvc" / "cache")
    (example_repo.root / "data" / "raw.csv").unlink()
    with pytest.raises(MlciError) as info:
        open_data(example_repo.root, "data/raw.csv", rev=example_repo.head())
    assert "DVC remote 'storage' (gs://models-bucket/dvc)" in info.value.message
    assert "gs plugin is not installed" in info.value.message
    assert info.value.hint and f"pip install '{plugin_requirement('gs')}'" in info.value.hint
