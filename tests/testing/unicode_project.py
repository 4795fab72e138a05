"""The example project with every name a user may write in their own language: paths with accents and
spaces, a stage, a params section, a metric and plots named in French. git C-quotes such paths under
its default `core.quotePath`; every mlci command must still read them as they are."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlci.onboarding import example
from mlci.render import templates_dir
from mlci.repo.git import git

RAW = "données/entrée brute.csv"
PREPARED = "données/préparées"
TRAIN_SCRIPT = "src/modèles/entraîner a.py"
MODEL = "modèles/modèle.pkl"
METRICS = "résultats/métriques.json"
ROC = "résultats/courbes/roc.json"
SECTION = "entraînement"  # the params section the train stage reads
STAGES = ("préparer", "entraîner", "évaluer")
METRIC = "test.précision"

_RENAMES = [  # the example's names → ours, in every script and YAML file
    ('"data/raw.csv"', f'"{RAW}"'),
    ("data/prepared", PREPARED),
    ("models/model.pkl", MODEL),
    ('mkdir("models"', 'mkdir("modèles"'),
    ('Path("models")', 'Path("modèles")'),
    ('["prepare"]', '["préparer"]'),
    ('["train"]', f'["{SECTION}"]'),
    ('"precision"', '"précision"'),
    ('Path("metrics.json")', f'Path("{METRICS}")'),
    ('Path("plots")', 'Path("résultats/courbes")'),
    ("plots/roc.json", ROC),
    ("plots/confusion.json", "résultats/courbes/confusion.json"),
]


def _rename(text: str) -> str:
    for old, new in _RENAMES:
        text = text.replace(old, new)
    return text


def write(root: Path) -> None:
    """The example's scripts, data, params, dvc.yaml and mlci.yaml under the names above."""
    source = templates_dir() / "example"
    scripts = {"prepare": "src/préparer.py", "train": TRAIN_SCRIPT, "evaluate": "src/évaluer.py"}
    for old, new in scripts.items():
        target = root / new
        target.parent.mkdir(parents=True, exist_ok=True)
        text = _rename((source / "src" / f"{old}.py").read_text(encoding="utf-8"))
        target.write_text(text.replace(".mkdir(exist_ok=True)", ".mkdir(parents=True, exist_ok=True)"))
    (root / "résultats").mkdir()
    (root / "données").mkdir()
    example.raw_frame().to_csv(root / RAW, index=False)
    params = yaml.safe_load((source / "params.yaml").read_text(encoding="utf-8"))
    params = {"préparer": params["prepare"], SECTION: params["train"]}
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False))
    (root / "dvc.yaml").write_text(yaml.safe_dump(_pipeline(scripts), allow_unicode=True, sort_keys=False))
    config = {
        "models": {"classifieur": {"path": MODEL, "data": f"{PREPARED}/train.csv", "target": "target"}},
        "gates": [{"metric": METRIC, "min": 0.5}],
    }
    (root / "mlci.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    (root / ".gitignore").write_text("/.mlci/\n")


def _pipeline(scripts: dict[str, str]) -> dict[str, object]:
    prepare, train, evaluate = STAGES
    return {
        "stages": {
            prepare: {
                "cmd": f'python "{scripts["prepare"]}"',
                "deps": [scripts["prepare"], RAW],
                "params": ["préparer"],
                "outs": [PREPARED],
            },
            train: {
                "cmd": f'python "{scripts["train"]}"',
                "deps": [scripts["train"], f"{PREPARED}/train.csv"],
                "params": [SECTION],
                "outs": [MODEL],
            },
            evaluate: {
                "cmd": f'python "{scripts["evaluate"]}"',
                "deps": [scripts["evaluate"], MODEL, f"{PREPARED}/test.csv"],
                "metrics": [{METRICS: {"cache": False}}],
                "plots": [{ROC: {"cache": False, "x": "fpr", "y": "tpr"}}],
            },
        }
    }


def build(base: Path) -> Path:
    """`base/work` (the project, trained on `main` and pushed), `base/origin.git`, `base/dvc-remote`."""
    root = base / "work"
    root.mkdir(parents=True)
    write(root)
    (base / "dvc-remote").mkdir()
    git(base, "init", "-q", "--bare", "-b", "main", str(base / "origin.git"))
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", str(base / "origin.git"))
    example.dvc(root, "init", "-q")
    example.dvc(root, "config", "core.autostage", "true")
    example.dvc(root, "remote", "add", "-d", "stockage", str(base / "dvc-remote"))
    example.dvc(root, "add", "-q", RAW)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Projet d'exemple")
    example.train_and_publish(root, "Entraîner le modèle")
    return root
