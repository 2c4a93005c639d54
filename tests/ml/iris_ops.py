"""Ops of the docs' iris examples (getting started and tutorial), importable by tests and workers."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from chariots import MLMode, Pipeline
from chariots.ml.sklearn import SKSupervisedOp, SKUnsupervisedOp
from chariots.nodes import Node
from chariots.pipelines.ops import BaseOp
from chariots.versioning import VersionedField, VersionedFieldDict, VersionType


class IrisFullDataSet(BaseOp):
    """The iris features and targets, as two numpy arrays."""

    def execute(self):
        iris = datasets.load_iris()
        return iris.data, iris.target


class IrisXDataSet(BaseOp):
    """The iris features only."""

    def execute(self):
        return datasets.load_iris().data


class FromArray(BaseOp):
    """A numpy array to a list (what a JSON response carries)."""

    def execute(self, array):
        return array.tolist()


class Categorize(BaseOp):
    """Integer classes to one-hot rows."""

    def execute(self, labels):
        labels = np.asarray(labels)
        return np.eye(labels.max() + 1, dtype="float32")[labels]


# getting started
class PCAOp(SKUnsupervisedOp):
    training_update_version = VersionType.MAJOR
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {"n_components": 2})
    model_class = VersionedField(PCA, VersionType.MAJOR)


class LogisticOp(SKSupervisedOp):
    training_update_version = VersionType.PATCH
    model_class = LogisticRegression


def getting_started_pipelines() -> tuple[Pipeline, Pipeline]:
    """The train and pred pipelines of the getting-started page and of ``BaseMLOp``'s docs."""
    train = Pipeline(
        [
            Node(IrisFullDataSet(), output_nodes=["x", "y"]),
            Node(PCAOp(MLMode.FIT_PREDICT), input_nodes=["x"], output_nodes="x_transformed"),
            Node(LogisticOp(MLMode.FIT), input_nodes=["x_transformed", "y"]),
        ],
        "train",
    )
    pred = Pipeline(
        [
            Node(PCAOp(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="x_transformed"),
            Node(LogisticOp(MLMode.PREDICT), input_nodes=["x_transformed"], output_nodes=["pred"]),
            Node(FromArray(), input_nodes=["pred"], output_nodes="__pipeline_output__"),
        ],
        "pred",
    )
    return train, pred


# iris tutorial
class DownloadIris(BaseOp):
    def execute(self):
        iris = datasets.load_iris()
        df = pd.DataFrame(data=iris["data"], columns=iris["feature_names"])
        df["target"] = iris["target"]
        return df


class XYSplit(BaseOp):
    def execute(self, df):
        return df.drop("target", axis=1), df.target


class IrisPCA(SKUnsupervisedOp):
    model_class = PCA
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {"n_components": 2})


class IrisRF(SKSupervisedOp):
    model_class = RandomForestClassifier
    model_parameters = VersionedFieldDict(VersionType.MINOR, {"n_estimators": 5, "max_depth": 2})


def tutorial_pipelines() -> tuple[Pipeline, Pipeline]:
    """The train_iris and pred_iris pipelines of the iris tutorial."""
    train_iris = Pipeline(
        [
            Node(DownloadIris(), output_nodes="iris_df"),
            Node(XYSplit(), input_nodes=["iris_df"], output_nodes=["raw_X", "y"]),
            Node(IrisPCA(MLMode.FIT_PREDICT), input_nodes=["raw_X"], output_nodes="pca_X"),
            Node(IrisRF(MLMode.FIT), input_nodes=["pca_X", "y"]),
        ],
        "train_iris",
    )
    pred_iris = Pipeline(
        [
            Node(IrisPCA(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="x_pca"),
            Node(IrisRF(MLMode.PREDICT), input_nodes=["x_pca"], output_nodes="pred"),
            Node(FromArray(), input_nodes=["pred"], output_nodes="__pipeline_output__"),
        ],
        "pred_iris",
    )
    return train_iris, pred_iris


def client_docs_pipelines() -> tuple[Pipeline, Pipeline, Pipeline]:
    """train_pca, train_logistics and pred, as ``PipelinesClient``'s docs build them."""
    train_pca = Pipeline(
        [Node(IrisXDataSet(), output_nodes=["x"]), Node(PCAOp(mode=MLMode.FIT), input_nodes=["x"])], "train_pca"
    )
    train_logistic = Pipeline(
        [
            Node(IrisFullDataSet(), output_nodes=["x", "y"]),
            Node(PCAOp(MLMode.PREDICT), input_nodes=["x"], output_nodes="x_transformed"),
            Node(LogisticOp(MLMode.FIT), input_nodes=["x_transformed", "y"]),
        ],
        "train_logistics",
    )
    pred = Pipeline(
        [
            Node(PCAOp(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="x_transformed"),
            Node(LogisticOp(MLMode.PREDICT), input_nodes=["x_transformed"], output_nodes="pred"),
            Node(FromArray(), input_nodes=["pred"], output_nodes="__pipeline_output__"),
        ],
        "pred",
    )
    return train_pca, train_logistic, pred


def train_in_docs_order(client, train_pca: Pipeline, train_logistic: Pipeline, pred: Pipeline) -> None:
    """The right order of ``PipelinesClient``'s docs, through ``client``: train and save the PCA,
    train the logistic regression behind it and save it, then load the predicting pipeline."""
    client.call_pipeline(train_pca)
    client.save_pipeline(train_pca)
    client.load_pipeline(train_logistic)
    client.call_pipeline(train_logistic)
    client.save_pipeline(train_logistic)
    client.load_pipeline(pred)
