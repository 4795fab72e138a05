"""Score the model on the test set: metrics, an ROC curve and a confusion matrix."""

import json
import pathlib
import pickle

import pandas as pd
from sklearn import metrics

with open("models/model.pkl", "rb") as handle:
    model = pickle.load(handle)
test = pd.read_csv("data/prepared/test.csv")
features, labels = test.drop(columns=["target"]), test["target"]
predicted = model.predict(features)
scores = model.predict_proba(features)[:, 1]

results = {
    "test": {
        "accuracy": metrics.accuracy_score(labels, predicted),
        "precision": metrics.precision_score(labels, predicted),
        "recall": metrics.recall_score(labels, predicted),
        "f1": metrics.f1_score(labels, predicted),
        "roc_auc": metrics.roc_auc_score(labels, scores),
        "log_loss": metrics.log_loss(labels, scores),
    }
}
pathlib.Path("metrics.json").write_text(json.dumps(results, indent=2) + "\n")

pathlib.Path("plots").mkdir(exist_ok=True)
fpr, tpr, thresholds = metrics.roc_curve(labels, scores)
roc = [{"fpr": f, "tpr": t, "threshold": min(th, 1.0)} for f, t, th in zip(fpr, tpr, thresholds)]
pathlib.Path("plots/roc.json").write_text(json.dumps({"roc": roc}, indent=1) + "\n")
pairs = [{"actual": int(a), "predicted": int(p)} for a, p in zip(labels, predicted)]
pathlib.Path("plots/confusion.json").write_text(json.dumps(pairs) + "\n")
