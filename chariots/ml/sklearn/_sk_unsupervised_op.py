"""Ops wrapping unsupervised scikit-learn estimators (decompositions, scalers, clusterings)."""
from __future__ import annotations

from typing import Any

from chariots.ml.sklearn._base_sk_op import BaseSKOp


class SKUnsupervisedOp(BaseSKOp):
    """Op base class for unsupervised scikit-learn models; its node takes a single input, X.

    >>> class PCAOp(SKUnsupervisedOp):
    ...     training_update_version = VersionType.MAJOR
    ...     model_parameters = VersionedFieldDict(VersionType.MAJOR, {"n_components": 2})
    ...     model_class = VersionedField(PCA, VersionType.MAJOR)

    It predicts with ``transform`` by default; set ``predict_function`` to change that (e.g.
    ``'predict'`` for a clustering).
    """

    predict_function: Any = "transform"

    def fit(self, X) -> None:
        """Trains a fresh estimator on X. Do not override it.

        :param X: the training data (numpy array, pandas data frame ...)
        """
        model = self._init_model()
        model.fit(X, **self.fit_extra_parameters)
        self._model = model

    def predict(self, X) -> Any:
        """Transforms (or predicts on) X with the estimator's ``predict_function``. Do not
        override it.

        :param X: the data to transform (numpy array, pandas data frame ...)
        :returns: the result
        """
        return getattr(self._model, self.predict_function)(X)
