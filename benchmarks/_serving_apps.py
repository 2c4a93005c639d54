"""The apps the serving benchmark compares, built from the same fitted estimators.

Two models: ``iris``, the PCA + logistic regression pipeline of the docs, and ``forest``, a
RandomForest of 200 trees on iris (both fitted with a fixed seed, so every process holds the
same model). For each:

- ``chariots_app(model, batching)``: a :class:`PipelinesServer` serving the prediction pipeline
  ``pred``, with or without adaptive batching;
- ``bare_app(model)``: a plain Flask route calling the same estimators;
- ``empty_app()``: a Flask route that reads the call and does no work (the ceiling).

Every app answers ``POST /pipelines/pred/main`` with ``{"pipeline_input": [[...4 numbers]]}``.
"""
from __future__ import annotations

import os

import flask
from sklearn import datasets
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from chariots import MLMode, Pipeline
from chariots.nodes import Node
from chariots.pipelines import PipelinesServer
from chariots.pipelines.ops import BaseOp
from chariots.pipelines.runners import SequentialRunner
from chariots.sklearn import SKSupervisedOp, SKUnsupervisedOp
from chariots.versioning import VersionedFieldDict, VersionType

MODELS = ("forest", "iris")


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


class ForestOp(SKSupervisedOp):
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {"n_estimators": 200, "random_state": 0})
    model_class = RandomForestClassifier


class ToList(BaseOp):
    def execute(self, array):
        return array.tolist()


def _trained(model: str, batching: bool = False):
    """The prediction pipeline of a model, fitted, and its fitted estimators."""
    # the policy only when asked: an earlier release (serving.py --before) has no batching
    options = {}
    if batching:
        from chariots.pipelines import Batching

        options["batching"] = Batching()
    if model == "iris":
        pca, logistic = PCAOp(MLMode.FIT_PREDICT), LogisticOp(MLMode.FIT)
        SequentialRunner().run(Pipeline([
            Node(IrisData(), output_nodes=["x", "y"]),
            Node(pca, input_nodes=["x"], output_nodes="x_pca"),
            Node(logistic, input_nodes=["x_pca", "y"]),
        ], "train"))
        pred_pca, pred_logistic = PCAOp(MLMode.PREDICT), LogisticOp(MLMode.PREDICT)
        pred_pca.load(pca.serialize())
        pred_logistic.load(logistic.serialize())
        pred = Pipeline([
            Node(pred_pca, input_nodes=["__pipeline_input__"], output_nodes="x_pca"),
            Node(pred_logistic, input_nodes=["x_pca"], output_nodes="pred"),
            Node(ToList(), input_nodes=["pred"], output_nodes="__pipeline_output__"),
        ], "pred", **options)
        return pred, [pred_pca.model, pred_logistic.model]
    if model == "forest":
        forest = ForestOp(MLMode.FIT)
        SequentialRunner().run(Pipeline([
            Node(IrisData(), output_nodes=["x", "y"]), Node(forest, input_nodes=["x", "y"]),
        ], "train"))
        pred_forest = ForestOp(MLMode.PREDICT)
        pred_forest.load(forest.serialize())
        pred = Pipeline([
            Node(pred_forest, input_nodes=["__pipeline_input__"], output_nodes="pred"),
            Node(ToList(), input_nodes=["pred"], output_nodes="__pipeline_output__"),
        ], "pred", **options)
        return pred, [pred_forest.model]
    raise ValueError(f"unknown model {model!r}: one of {MODELS}")


def chariots_app(model: str = "iris", batching: bool = False) -> flask.Flask:
    pred, _ = _trained(model, batching)
    # CHARIOTS_BENCH_METRICS=0 serves without Prometheus metrics, to tell their cost from the rest
    metrics = os.environ.get("CHARIOTS_BENCH_METRICS", "1") != "0"
    return PipelinesServer([pred], import_name="bench_chariots", metrics=metrics)


def bare_app(model: str = "iris") -> flask.Flask:
    _, estimators = _trained(model)
    app = flask.Flask("bench_bare")

    @app.post("/pipelines/pred/main")
    def predict():
        rows = flask.request.get_json()["pipeline_input"]
        if len(estimators) == 1:
            answer = estimators[0].predict(rows)
        else:
            pca, logistic = estimators
            answer = logistic.predict(pca.transform(rows))
        return {"pipeline_output": answer.tolist()}

    return app


def empty_app() -> flask.Flask:
    app = flask.Flask("bench_empty")

    @app.post("/pipelines/pred/main")
    def nothing():
        rows = flask.request.get_json()["pipeline_input"]
        return {"pipeline_output": [0] * len(rows)}

    return app
