"""Ops shared by the examples of the documentation.

``docs/conftest.py`` puts them in the namespace of every page. They live in an importable
module (not in the conftest) so that worker processes can unpickle pipelines built from them:
the workers page adds this folder to the workers' ``PYTHONPATH``.
"""
from __future__ import annotations

import numpy as np

from chariots.pipelines.ops import BaseOp

__all__ = ["AddOneOp", "IsOddOp", "IrisFullDataSet", "IrisXDataSet", "FromArray", "Categorize"]


class AddOneOp(BaseOp):
    """Adds one to its input."""

    def execute(self, op_input):
        return op_input + 1


class IsOddOp(BaseOp):
    """Tells whether its input is odd."""

    def execute(self, op_input):
        return op_input % 2 == 1


def _iris():
    try:
        from sklearn import datasets
    except ImportError as error:  # pragma: no cover - the docs' conftest skips such pages
        raise ImportError("the iris examples need scikit-learn: pip install chariots[sklearn]") from error
    return datasets.load_iris()


class IrisFullDataSet(BaseOp):
    """The iris features and classes, as two numpy arrays."""

    def execute(self):
        iris = _iris()
        return iris.data, iris.target


class IrisXDataSet(BaseOp):
    """The iris features only."""

    def execute(self):
        return _iris().data


class FromArray(BaseOp):
    """Turns a numpy array into (nested) lists."""

    def execute(self, array):
        return np.asarray(array).tolist()


class Categorize(BaseOp):
    """Turns integer classes into one-hot rows (what a softmax network is trained on)."""

    def execute(self, labels):
        labels = np.asarray(labels)
        return np.eye(int(labels.max()) + 1, dtype="float32")[labels]
