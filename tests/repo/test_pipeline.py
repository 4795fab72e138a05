"""Reading dvc.yaml as DVC does: nested files, wdir, params forms, templated stages."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlci.onboarding import example
from mlci.repo import pipeline as pl
from mlci.repo.git import git


def _repo(root: Path, files: dict[str, object]) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    example.dvc(root, "init", "-q")
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return root


def test_nested_dvc_yaml_wdir_and_params_forms(tmp_path: Path) -> None:
    root = _repo(
        tmp_path / "r",
        {
            "dvc.yaml": {
                "stages": {
                    "featurize": {
                        "cmd": "python f.py",
                        "wdir": "src",
                        "deps": ["f.py", "../data/raw"],
                        "params": ["feat.n", {"../extra.yaml": None}, {"../other.yaml": ["a.b"]}],
                        "outs": ["../features"],
                    }
                }
            },
            "models/m1/dvc.yaml": {
                "stages": {
                    "train": {
                        "cmd": "python train.py",
                        "deps": ["train.py", "../../features/part-1"],
                        "outs": ["model.pkl"],
                        "metrics": [{"metrics.json": {"cache": False}}],
                    }
                }
            },
        },
    )
    got = pl.read(root)
    assert list(got.stages) == ["featurize", "models/m1/dvc.yaml:train"]
    featurize = got.stages["featurize"]
    assert featurize.deps == ("src/f.py", "data/raw")
    # the default params file lives in the stage's wdir, as in DVC
    assert featurize.params == {"src/params.yaml": ("feat.n",), "extra.yaml": None, "other.yaml": ("a.b",)}
    train = got.stages["models/m1/dvc.yaml:train"]
    assert [o.path for o in train.outs] == ["models/m1/model.pkl", "models/m1/metrics.json"]
    assert [o.path for o in train.uncached] == ["models/m1/metrics.json"]
    assert got.producers(train) == ["featurize"]  # a file inside an upstream output folder
    assert pl.closure(got, ["models/m1/dvc.yaml:train"]) == ["featurize", "models/m1/dvc.yaml:train"]
    # DVC's own reading of the same files agrees on every stage, path and param
    assert pl.load_with_dvc(root).stages.keys() == got.stages.keys()
    for name, stage in pl.load_with_dvc(root).stages.items():
        ours = got.stages[name]
        assert (stage.deps, stage.params) == (ours.deps, ours.params)
        assert [(o.path, o.cache) for o in stage.outs] == [(o.path, o.cache) for o in ours.outs]


def test_templated_pipeline_is_resolved_by_dvc(tmp_path: Path) -> None:
    root = _repo(
        tmp_path / "t",
        {
            "params.yaml": {"models": ["a", "b"], "lr": 0.1},
            "dvc.yaml": {
                "stages": {
                    "train": {
                        "foreach": "${models}",
                        "do": {
                            "cmd": "python train.py ${item}",
                            "deps": ["train.py"],
                            "params": ["lr"],
                            "outs": ["models/${item}.pkl"],
                        },
                    }
                }
            },
        },
    )
    got = pl.read(root)
    assert sorted(got.stages) == ["train@a", "train@b"]
    assert got.stages["train@b"].outs[0].path == "models/b.pkl"
    assert got.stages["train@a"].params == {"params.yaml": ("lr",)}
    assert got.producing("models/a.pkl") == ["train@a"]
