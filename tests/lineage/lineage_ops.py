"""Ops and pipelines of the lineage tests (issue 10), importable by the processes that train or save.

The models are tiny scikit-learn ops on eight rows of three features: :class:`PCAOp` (its
training changes its major version, as in the docs), :class:`ScalerOp` (a second model for
chains of three), :class:`StandardizeOp` (an upstream model whose training only changes its
patch version) and :class:`LinearOp` (the downstream model, a linear regression, so that a
different model gives different predictions).

A code change is simulated by the ``*_class`` factories: they build a class with the same
module and qualified name as the one defined here (the same class path, so the same op in
the store) but other versioned fields, as a new release of the code would.

:func:`build` makes fresh pipelines by name (a node belongs to one pipeline, so each server
needs its own objects).
"""

from __future__ import annotations

import inspect
import json
import time
from typing import Any, Callable, Dict, List

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import StandardScaler

from chariots import MLMode, Pipeline
from chariots.ml.serializers import DillSerializer
from chariots.ml.sklearn import SKSupervisedOp, SKUnsupervisedOp
from chariots.nodes import Node
from chariots.ops import BaseOp, LoadableOp
from chariots.versioning import VersionedField, VersionedFieldDict, VersionType

FIT, PREDICT, FIT_PREDICT = MLMode.FIT, MLMode.PREDICT, MLMode.FIT_PREDICT
IN, OUT = "__pipeline_input__", "__pipeline_output__"

X = np.array(
    [
        [1.0, 2.0, 0.5],
        [2.0, 1.0, 1.5],
        [3.0, 4.0, 2.0],
        [4.0, 3.0, 3.5],
        [5.0, 6.0, 4.0],
        [6.0, 5.0, 6.5],
        [7.0, 8.0, 6.0],
        [8.0, 7.0, 8.5],
    ]
)
Y = X @ np.array([1.0, -2.0, 0.5]) + 3.0
#: what the serving pipelines are called with
ROWS = [[1.5, 2.5, 1.0], [6.5, 5.5, 7.0], [3.0, 3.0, 3.0]]


# ------------------------------------------------------------------ stateless ops


class Data(BaseOp):
    """The training features and targets."""

    def execute(self):
        return X.copy(), Y.copy()


class Features(BaseOp):
    """The training features only."""

    def execute(self):
        return X.copy()


class Square(BaseOp):
    def execute(self, x):
        return np.asarray(x, dtype=float) ** 2


class Scale(BaseOp):
    """Multiplies by a factor that is part of its version (a stateless op between two models)."""

    factor = VersionedField(2.0, VersionType.MAJOR)

    def execute(self, x):
        return np.asarray(x, dtype=float) * self.factor


class Round(BaseOp):
    def execute(self, x):
        return np.round(np.asarray(x, dtype=float), 6)


class Concat(BaseOp):
    def execute(self, left, right):
        return np.hstack([np.asarray(left), np.asarray(right)])


class Sum(BaseOp):
    def execute(self, left, right):
        return (np.asarray(left) + np.asarray(right)).tolist()


class ToList(BaseOp):
    def execute(self, values):
        return np.asarray(values).tolist()


# ------------------------------------------------------------------ models


class PCAOp(SKUnsupervisedOp):
    training_update_version = VersionType.MAJOR
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {"n_components": 2})
    model_class = VersionedField(PCA, VersionType.MAJOR)


class ScalerOp(SKUnsupervisedOp):
    training_update_version = VersionType.MAJOR
    model_class = VersionedField(StandardScaler, VersionType.MAJOR)


class StandardizeOp(SKUnsupervisedOp):
    """An upstream model whose training changes only its patch: its major is its class's."""

    training_update_version = VersionType.PATCH
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {"with_mean": True})
    model_class = VersionedField(StandardScaler, VersionType.MAJOR)


class LinearOp(SKSupervisedOp):
    training_update_version = VersionType.PATCH
    model_class = LinearRegression


class BranchAOp(LinearOp):
    """One branch of a diamond."""


class BranchBOp(LinearOp):
    """The other branch of a diamond."""


class SlowDillSerializer(DillSerializer):
    """Dill taking a few milliseconds, as a big model does: a save lasts long enough to race a training."""

    def serialize_object(self, target: Any) -> bytes:
        time.sleep(0.004)
        return super().serialize_object(target)


class SlowLinearOp(LinearOp):
    serializer_cls = SlowDillSerializer


class Counter(LoadableOp):
    """A plain loadable op: its state (a count) is saved, its version is its class's."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def execute(self, *args):
        self.count += 1
        return self.count

    def serialize(self) -> bytes:
        return json.dumps({"count": self.count}).encode()

    def load(self, serialized_object: bytes) -> None:
        self.count = json.loads(serialized_object)["count"]


# ------------------------------------------------------------------ code changes


def _same_class_path(base: type, name: str, fields: Dict[str, Any]) -> type:
    return type(base)(name, (base.__bases__[0],), {"__module__": __name__, "__qualname__": name, **fields})


def standardize_class(with_mean: bool) -> type:
    """:class:`StandardizeOp` after a code change of its ``with_mean`` parameter."""
    return _same_class_path(
        StandardizeOp,
        "StandardizeOp",
        {
            "training_update_version": VersionType.PATCH,
            "model_parameters": VersionedFieldDict(VersionType.MAJOR, {"with_mean": with_mean}),
            "model_class": VersionedField(StandardScaler, VersionType.MAJOR),
        },
    )


def scale_class(factor: float) -> type:
    """:class:`Scale` after a code change of its factor."""
    return _same_class_path(
        Scale,
        "Scale",
        {"factor": VersionedField(factor, VersionType.MAJOR), "execute": Scale.execute},
    )


def pca_class(n_components: int) -> type:
    """:class:`PCAOp` after a code change of its number of components."""
    return _same_class_path(
        PCAOp,
        "PCAOp",
        {
            "training_update_version": VersionType.MAJOR,
            "model_parameters": VersionedFieldDict(VersionType.MAJOR, {"n_components": n_components}),
            "model_class": VersionedField(PCA, VersionType.MAJOR),
        },
    )


# ------------------------------------------------------------------ pipelines


def _flat(name: str, pca: type = PCAOp, linear: type = LinearOp) -> Pipeline:
    if name == "train":
        nodes = [
            Node(Data(), output_nodes=["x", "y"]),
            Node(pca(FIT_PREDICT), input_nodes=["x"], output_nodes="x_t"),
            Node(linear(FIT), input_nodes=["x_t", "y"]),
        ]
    elif name == "train_pca":
        nodes = [Node(Features(), output_nodes="x"), Node(pca(FIT), input_nodes=["x"])]
    elif name == "train_linear":
        nodes = [
            Node(Data(), output_nodes=["x", "y"]),
            Node(pca(PREDICT), input_nodes=["x"], output_nodes="x_t"),
            Node(linear(FIT), input_nodes=["x_t", "y"]),
        ]
    elif name == "retrain_pca_keep_linear":
        # retrains the PCA; the linear regression is only loaded and predicts
        nodes = [
            Node(Features(), output_nodes="x"),
            Node(pca(FIT_PREDICT), input_nodes=["x"], output_nodes="x_t"),
            Node(linear(PREDICT), input_nodes=["x_t"], output_nodes=OUT),
        ]
    elif name in ("pred", "pred_again"):
        nodes = [
            Node(pca(PREDICT), input_nodes=[IN], output_nodes="x_t"),
            Node(linear(PREDICT), input_nodes=["x_t"], output_nodes=OUT),
        ]
    elif name == "train_linear_on_scaler":
        # the same linear regression trained behind another upstream model
        nodes = [
            Node(Data(), output_nodes=["x", "y"]),
            Node(ScalerOp(FIT_PREDICT), input_nodes=["x"], output_nodes="x_s"),
            Node(linear(FIT), input_nodes=["x_s", "y"]),
        ]
    elif name == "pred_rounded":
        # a stateless op only the serving pipeline has, between the two models
        nodes = [
            Node(pca(PREDICT), input_nodes=[IN], output_nodes="x_t"),
            Node(Round(), input_nodes=["x_t"], output_nodes="x_r"),
            Node(linear(PREDICT), input_nodes=["x_r"], output_nodes=OUT),
        ]
    else:
        raise KeyError(name)
    return Pipeline(nodes, name)


def _scaled(name: str, scale: type = Scale) -> Pipeline:
    """PCA -> a stateless Scale -> linear regression."""
    if name == "train_scaled":
        nodes = [
            Node(Data(), output_nodes=["x", "y"]),
            Node(PCAOp(FIT_PREDICT), input_nodes=["x"], output_nodes="x_t"),
            Node(scale(), input_nodes=["x_t"], output_nodes="x_s"),
            Node(LinearOp(FIT), input_nodes=["x_s", "y"]),
        ]
    elif name in ("pred_scaled", "pred_scaled_new"):
        nodes = [
            Node(PCAOp(PREDICT), input_nodes=[IN], output_nodes="x_t"),
            Node(scale(), input_nodes=["x_t"], output_nodes="x_s"),
            Node(LinearOp(PREDICT), input_nodes=["x_s"], output_nodes=OUT),
        ]
    else:
        raise KeyError(name)
    return Pipeline(nodes, name)


def _standardized(name: str, standardize: type = StandardizeOp) -> Pipeline:
    """StandardizeOp (patch-trained upstream) -> linear regression."""
    if name == "train_std":
        nodes = [
            Node(Data(), output_nodes=["x", "y"]),
            Node(standardize(FIT_PREDICT), input_nodes=["x"], output_nodes="x_t"),
            Node(LinearOp(FIT), input_nodes=["x_t", "y"]),
        ]
    elif name == "train_std_only":
        nodes = [Node(Features(), output_nodes="x"), Node(standardize(FIT), input_nodes=["x"])]
    elif name in ("pred_std", "pred_std_new"):
        nodes = [
            Node(standardize(PREDICT), input_nodes=[IN], output_nodes="x_t"),
            Node(LinearOp(PREDICT), input_nodes=["x_t"], output_nodes=OUT),
        ]
    else:
        raise KeyError(name)
    return Pipeline(nodes, name)


def _diamond(name: str) -> Pipeline:
    """PCA feeding two models whose predictions are added."""
    if name == "train_diamond":
        nodes = [
            Node(Data(), output_nodes=["x", "y"]),
            Node(PCAOp(FIT_PREDICT), input_nodes=["x"], output_nodes="x_t"),
            Node(BranchAOp(FIT), input_nodes=["x_t", "y"]),
            Node(BranchBOp(FIT), input_nodes=["x_t", "y"]),
        ]
    elif name == "retrain_branch_a":
        # retrains the PCA and branch A; branch B only predicts
        nodes = [
            Node(Data(), output_nodes=["x", "y"]),
            Node(PCAOp(FIT_PREDICT), input_nodes=["x"], output_nodes="x_t"),
            Node(BranchAOp(FIT), input_nodes=["x_t", "y"]),
            Node(BranchBOp(PREDICT), input_nodes=["x_t"], output_nodes=OUT),
        ]
    elif name == "pred_diamond":
        nodes = [
            Node(PCAOp(PREDICT), input_nodes=[IN], output_nodes="x_t"),
            Node(BranchAOp(PREDICT), input_nodes=["x_t"], output_nodes="a"),
            Node(BranchBOp(PREDICT), input_nodes=["x_t"], output_nodes="b"),
            Node(Sum(), input_nodes=["a", "b"], output_nodes=OUT),
        ]
    else:
        raise KeyError(name)
    return Pipeline(nodes, name)


def _chain(name: str) -> Pipeline:
    """Three models in a row: PCA -> StandardScaler -> linear regression."""
    if name == "train_chain":
        nodes = [
            Node(Data(), output_nodes=["x", "y"]),
            Node(PCAOp(FIT_PREDICT), input_nodes=["x"], output_nodes="x_t"),
            Node(ScalerOp(FIT_PREDICT), input_nodes=["x_t"], output_nodes="x_s"),
            Node(LinearOp(FIT), input_nodes=["x_s", "y"]),
        ]
    elif name == "train_chain_linear":
        nodes = [
            Node(Data(), output_nodes=["x", "y"]),
            Node(PCAOp(PREDICT), input_nodes=["x"], output_nodes="x_t"),
            Node(ScalerOp(PREDICT), input_nodes=["x_t"], output_nodes="x_s"),
            Node(LinearOp(FIT), input_nodes=["x_s", "y"]),
        ]
    elif name == "retrain_chain_keep_linear":
        # retrains the PCA and the scaler; the linear regression is only loaded
        nodes = [
            Node(Features(), output_nodes="x"),
            Node(PCAOp(FIT_PREDICT), input_nodes=["x"], output_nodes="x_t"),
            Node(ScalerOp(FIT_PREDICT), input_nodes=["x_t"], output_nodes="x_s"),
            Node(LinearOp(PREDICT), input_nodes=["x_s"], output_nodes=OUT),
        ]
    elif name == "train_pca_scaler":
        nodes = [
            Node(Features(), output_nodes="x"),
            Node(PCAOp(FIT_PREDICT), input_nodes=["x"], output_nodes="x_t"),
            Node(ScalerOp(FIT), input_nodes=["x_t"]),
        ]
    elif name == "pred_chain":
        nodes = [
            Node(PCAOp(PREDICT), input_nodes=[IN], output_nodes="x_t"),
            Node(ScalerOp(PREDICT), input_nodes=["x_t"], output_nodes="x_s"),
            Node(LinearOp(PREDICT), input_nodes=["x_s"], output_nodes=OUT),
        ]
    else:
        raise KeyError(name)
    return Pipeline(nodes, name)


def _nested(name: str) -> Pipeline:
    """Pipelines holding a model, or its upstream, in a nested pipeline."""
    if name == "pred_nested_model":
        inner = Pipeline([Node(LinearOp(PREDICT), input_nodes=[IN], output_nodes=OUT)], "linear_block")
        nodes = [
            Node(PCAOp(PREDICT), input_nodes=[IN], output_nodes="x_t"),
            Node(inner, input_nodes=["x_t"], output_nodes=OUT),
        ]
    elif name == "pred_nested_upstream":
        inner = Pipeline([Node(PCAOp(PREDICT), input_nodes=[IN], output_nodes=OUT)], "pca_block")
        nodes = [
            Node(inner, input_nodes=[IN], output_nodes="x_t"),
            Node(LinearOp(PREDICT), input_nodes=["x_t"], output_nodes=OUT),
        ]
    elif name == "train_nested_upstream":
        inner = Pipeline([Node(PCAOp(FIT_PREDICT), input_nodes=[IN], output_nodes=OUT)], "pca_train_block")
        nodes = [
            Node(Data(), output_nodes=["x", "y"]),
            Node(inner, input_nodes=["x"], output_nodes="x_t"),
            Node(LinearOp(FIT), input_nodes=["x_t", "y"]),
        ]
    else:
        raise KeyError(name)
    return Pipeline(nodes, name)


def _misc(name: str) -> Pipeline:
    if name == "count":
        nodes = [Node(Counter(), input_nodes=[IN], output_nodes=OUT)]
    elif name == "train_slow":
        nodes = [Node(Data(), output_nodes=["x", "y"]), Node(SlowLinearOp(FIT), input_nodes=["x", "y"])]
    elif name == "pred_slow":
        nodes = [Node(SlowLinearOp(PREDICT), input_nodes=[IN], output_nodes=OUT)]
    else:
        raise KeyError(name)
    return Pipeline(nodes, name)


_FAMILIES: List[Callable[..., Pipeline]] = [_flat, _scaled, _standardized, _diamond, _chain, _nested, _misc]


def build(*names: str, **classes: type) -> List[Pipeline]:
    """Fresh pipelines of those names; ``classes`` replaces op classes (``pca=``, ``scale=`` ...)."""
    pipelines = []
    for name in names:
        for family in _FAMILIES:
            accepted = {key: value for key, value in classes.items() if key in inspect.signature(family).parameters}
            try:
                pipelines.append(family(name, **accepted))
                break
            except KeyError:
                continue
        else:
            raise KeyError(f"no test pipeline named {name!r}")
    return pipelines
