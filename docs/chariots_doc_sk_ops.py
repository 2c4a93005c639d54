"""The scikit-learn ops of the getting-started page, for the pages that use them without
defining them (``docs/conftest.py`` adds them when scikit-learn is installed)."""
from __future__ import annotations

from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression

from chariots.ml.sklearn import SKSupervisedOp, SKUnsupervisedOp
from chariots.versioning import VersionedField, VersionedFieldDict, VersionType

__all__ = ["PCAOp", "LogisticOp"]


class PCAOp(SKUnsupervisedOp):
    """A two-component PCA; a retraining changes its major version."""

    training_update_version = VersionType.MAJOR
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {"n_components": 2})
    model_class = VersionedField(PCA, VersionType.MAJOR)


class LogisticOp(SKSupervisedOp):
    """A logistic regression; a retraining changes its patch version."""

    training_update_version = VersionType.PATCH
    model_class = LogisticRegression
