"""Split the raw data into a training and a test set."""

import pathlib

import pandas as pd
import yaml
from sklearn.model_selection import train_test_split

params = yaml.safe_load(open("params.yaml"))["prepare"]
raw = pd.read_csv("data/raw.csv")
train, test = train_test_split(
    raw, test_size=params["test_size"], random_state=params["seed"], stratify=raw["target"]
)
pathlib.Path("data/prepared").mkdir(parents=True, exist_ok=True)
train.to_csv("data/prepared/train.csv", index=False)
test.to_csv("data/prepared/test.csv", index=False)
