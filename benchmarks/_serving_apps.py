"""The two apps the serving benchmark compares, built from the same fitted estimators.

``chariots_app()`` serves the iris prediction pipeline with a :class:`PipelinesServer`;
``bare_app()`` is a plain Flask route calling the same two estimators.
"""
from __future__ import annotations

import os

import flask
import numpy as np
from sklearn import datasets
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression

from chariots import MLMode, Pipeline
from chariots.nodes import Node
from chariots.pipelines import PipelinesServer
from chariots.pipelines.ops import BaseOp
from chariots.pipelines.runners import SequentialRunner
from chariots.sklearn import SKSupervisedOp, SKUnsupervisedOp
from chariots.versioning import VersionedFieldDict, VersionType


class IrisData(BaseOp):
    def execute(self):
        iris = datasets.load_iris()
        return iris.data, iris.target


class PCAOp(SKUnsupervisedOp):
    training_update_version = VersionType.MAJOR
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {"n_components": 2, "random_state": 0})
    model_class = PCA


class LogisticOp(SKSupervisedOp):
    model_class = LogisticRegression


class ToList(BaseOp):
    def execute(self, array):
        return array.tolist()


def _trained_pipelines():
    pca, logistic = PCAOp(MLMode.FIT_PREDICT), LogisticOp(MLMode.FIT)
    train = Pipeline([
        Node(IrisData(), output_nodes=["x", "y"]),
        Node(pca, input_nodes=["x"], output_nodes="x_pca"),
        Node(logistic, input_nodes=["x_pca", "y"]),
    ], "train")
    SequentialRunner().run(train)
    pred_pca, pred_logistic = PCAOp(MLMode.PREDICT), LogisticOp(MLMode.PREDICT)
    pred_pca.load(pca.serialize())
    pred_logistic.load(logistic.serialize())
    pred = Pipeline([
        Node(pred_pca, input_nodes=["__pipeline_input__"], output_nodes="x_pca"),
        Node(pred_logistic, input_nodes=["x_pca"], output_nodes="pred"),
        Node(ToList(), input_nodes=["pred"], output_nodes="__pipeline_output__"),
    ], "pred")
    return pred, pred_pca.model, pred_logistic.model


def chariots_app() -> flask.Flask:
    pred, _, _ = _trained_pipelines()
    # CHARIOTS_BENCH_METRICS=0 serves without Prometheus metrics, to tell their cost from the rest
    metrics = os.environ.get("CHARIOTS_BENCH_METRICS", "1") != "0"
    return PipelinesServer([pred], import_name="bench_chariots", metrics=metrics)


def bare_app() -> flask.Flask:
    _, pca, logistic = _trained_pipelines()
    app = flask.Flask("bench_bare")

    @app.post("/pipelines/pred/main")
    def predict():
        data = flask.request.get_json()
        rows = np.asarray(data["pipeline_input"])
        return {"pipeline_output": logistic.predict(pca.transform(rows)).tolist()}

    return app

