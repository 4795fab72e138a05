"""Repositories for the train/affected tests: real git, real DVC, real scikit-learn stages."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlci.onboarding import example
from mlci.repo.git import git

RUNS_LOG = "TRAIN_RUNS_LOG"  # the file each counted stage appends its name to
COUNTED = ' && echo {name} >> "$TRAIN_RUNS_LOG"'


def count_stage_runs(root: Path) -> None:
    """Make every stage append its name to $TRAIN_RUNS_LOG when its command really runs."""
    path = root / "dvc.yaml"
    data = yaml.safe_load(path.read_text())
    for name, stage in data["stages"].items():
        stage["cmd"] = stage["cmd"] + COUNTED.format(name=name)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def runs(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def fresh_clone(origin: Path, dest: Path, branch: str = "main") -> Path:
    """What a runner starts from: a clone with an empty DVC cache."""
    git(dest.parent, "clone", "-q", "-b", branch, str(origin), str(dest))
    return dest


def three_models(root: Path) -> Path:
    """Three small models sharing one prepare stage; each model has its own script and params."""
    root.mkdir(parents=True)
    (root / "src").mkdir()
    (root / "data").mkdir()
    (root / "data" / "raw.csv").write_text("x,y\n1,0\n2,1\n3,0\n")
    (root / "src" / "prepare.py").write_text("print('prepare')\n")
    stages: dict[str, object] = {
        "prepare": {
            "cmd": "python src/prepare.py",
            "deps": ["src/prepare.py", "data/raw.csv"],
            "params": ["prepare.split"],
            "outs": ["data/prepared"],
        }
    }
    params: dict[str, object] = {"prepare": {"split": 0.2, "unused": 1}}
    models: dict[str, object] = {}
    for name in ("alpha", "beta", "gamma"):
        (root / "src" / f"train_{name}.py").write_text(f"print('{name}')\n")
        stages[f"train_{name}"] = {
            "cmd": f"python src/train_{name}.py",
            "deps": [f"src/train_{name}.py", "data/prepared", "src/common.py"]
            if name == "gamma"
            else [f"src/train_{name}.py", "data/prepared"],
            "params": [f"{name}.lr", f"{name}.depth"],
            "outs": [f"models/{name}.pkl"],
            "metrics": [{f"metrics/{name}.json": {"cache": False}}],
        }
        params[name] = {"lr": 0.1, "depth": 3, "notes": "not used by any stage"}
        models[name] = {"path": f"models/{name}.pkl"}
    (root / "src" / "common.py").write_text("SHARED = 1\n")
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "mlci.yaml").write_text(yaml.safe_dump({"models": models}, sort_keys=False))
    git(root, "init", "-q", "-b", "main")
    example.dvc(root, "init", "-q")
    example.dvc(root, "add", "-q", "data/raw.csv")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "three models")
    return root


def many_models(root: Path, count: int) -> Path:
    """`count` models, each prepare_i -> train_i -> evaluate_i, with its own params and scripts."""
    root.mkdir(parents=True)
    stages: dict[str, object] = {}
    params: dict[str, object] = {}
    models: dict[str, object] = {}
    for i in range(count):
        m = f"m{i:03d}"
        folder = root / "src" / m
        folder.mkdir(parents=True)
        for step in ("prepare", "train", "evaluate"):
            (folder / f"{step}.py").write_text(f"# {m} {step}\n")
        stages[f"prepare_{m}"] = {
            "cmd": f"python src/{m}/prepare.py",
            "deps": [f"src/{m}/prepare.py", "src/shared"],
            "params": [f"{m}.prepare"],
            "outs": [f"data/{m}/prepared"],
        }
        stages[f"train_{m}"] = {
            "cmd": f"python src/{m}/train.py",
            "deps": [f"src/{m}/train.py", f"data/{m}/prepared"],
            "params": [f"{m}.train"],
            "outs": [f"models/{m}.pkl"],
        }
        stages[f"evaluate_{m}"] = {
            "cmd": f"python src/{m}/evaluate.py",
            "deps": [f"src/{m}/evaluate.py", f"models/{m}.pkl", f"data/{m}/prepared"],
            "metrics": [{f"metrics/{m}.json": {"cache": False}}],
        }
        params[m] = {"prepare": {"seed": i}, "train": {"depth": 3, "lr": 0.1}}
        models[m] = {"stages": [f"train_{m}", f"evaluate_{m}"]}
    (root / "src" / "shared").mkdir()
    (root / "src" / "shared" / "util.py").write_text("X = 1\n")
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "mlci.yaml").write_text(yaml.safe_dump({"models": models}, sort_keys=False))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"{count} models")
    return root


def set_yaml(path: Path, dotted: str, value: object) -> None:
    data = yaml.safe_load(path.read_text())
    *parents, leaf = dotted.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[leaf] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
