"""Fit the classifier on the training set."""

import pathlib
import pickle

import pandas as pd
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

params = yaml.safe_load(open("params.yaml"))["train"]
train = pd.read_csv("data/prepared/train.csv")
features = train.drop(columns=["target"])
categorical = list(features.select_dtypes(exclude="number").columns)
model = Pipeline(
    [
        (
            "encode",
            ColumnTransformer(
                [("categories", OneHotEncoder(handle_unknown="ignore"), categorical)],
                remainder="passthrough",
            ),
        ),
        (
            "forest",
            RandomForestClassifier(
                n_estimators=params["n_estimators"],
                max_depth=params["max_depth"],
                random_state=params["seed"],
                n_jobs=1,
            ),
        ),
    ]
)
model.fit(features, train["target"])
pathlib.Path("models").mkdir(exist_ok=True)
with open("models/model.pkl", "wb") as handle:
    pickle.dump(model, handle)
