"""Ops wrapping supervised scikit-learn estimators."""
from __future__ import annotations

from typing import Any

from chariots.ml.sklearn._base_sk_op import BaseSKOp


class SKSupervisedOp(BaseSKOp):
    """Op base class for supervised scikit-learn models.

    In ``MLMode.FIT`` or ``MLMode.FIT_PREDICT`` its node takes two inputs, X and y; in
    ``MLMode.PREDICT`` it takes X only:

    >>> class LogisticOp(SKSupervisedOp):
    ...     training_update_version = VersionType.PATCH
    ...     model_class = LogisticRegression
    >>> train_logistics = Pipeline([
    ...     Node(IrisFullDataSet(), output_nodes=["x", "y"]),
    ...     Node(PCAOp(MLMode.PREDICT), input_nodes=["x"], output_nodes="x_transformed"),
    ...     Node(LogisticOp(MLMode.FIT), input_nodes=["x_transformed", "y"])
    ... ], 'train_logistics')

    Set ``predict_function`` (e.g. to ``'predict_proba'``) and ``fit_extra_parameters`` to change
    how it predicts and trains. Numpy arrays and pandas data frames both work.
    """

    predict_function: Any = "predict"

    def fit(self, X, y) -> None:
        """Trains a fresh estimator on X and y. Do not override it.

        :param X: the training inputs (numpy array, pandas data frame ...)
        :param y: the training targets
        """
        model = self._init_model()
        model.fit(X, y, **self.fit_extra_parameters)
        self._model = model

    def predict(self, X) -> Any:
        """Predicts on X with the estimator's ``predict_function``. Do not override it.

        :param X: the inputs to predict on (numpy array, pandas data frame ...)
        :returns: the prediction
        """
        return getattr(self._model, self.predict_function)(X)
