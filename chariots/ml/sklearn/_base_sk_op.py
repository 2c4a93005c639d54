"""The common base of scikit-learn ops."""
from __future__ import annotations

import copy
from typing import Any, List, Optional

from chariots.errors import MLOpError
from chariots.ml._base_ml_op import BaseMLOp
from chariots.ml._ml_mode import MLMode
from chariots.pipelines.callbacks import OpCallBack
from chariots.versioning import VersionedFieldDict, VersionType


class BaseSKOp(BaseMLOp):
    """Base of the scikit-learn ops: builds ``model_class(**model_parameters)`` and trains a
    fresh one at each fit.

    Class attributes to set in subclasses:

    - ``model_class``: the estimator class (plain, or a :class:`~chariots.versioning.VersionedField`
      to make it part of the op's version);
    - ``model_parameters``: a :class:`~chariots.versioning.VersionedFieldDict` of the estimator's
      parameters;
    - ``fit_extra_parameters``: a :class:`~chariots.versioning.VersionedFieldDict` of keyword
      arguments for ``fit`` (``sample_weight`` ...);
    - ``predict_function``: the estimator method used to predict (``'predict'``,
      ``'predict_proba'``, ``'transform'`` ...), plain or a ``VersionedField``.

    :param mode: what the op does when it runs
    :param op_callbacks: callbacks run before and after each execution of the op
    :raises MLOpError: if ``model_class`` is not set or its model has no ``predict_function``
    """

    model_class: Any = None
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {})
    fit_extra_parameters = VersionedFieldDict(VersionType.MAJOR, {})
    predict_function: Any = "predict"

    def __init__(self, mode: MLMode, op_callbacks: Optional[List[OpCallBack]] = None, name: Optional[str] = None):
        if self.model_class is None:
            raise MLOpError(
                f"op {self.name!r} has no model_class: set it on {type(self).__name__} to a "
                "scikit-learn estimator class, e.g. model_class = LogisticRegression"
            )
        super().__init__(mode, op_callbacks, name=name)
        function = self.predict_function
        if not isinstance(function, str) or not callable(getattr(self._model, function, None)):
            available = [
                name
                for name in ("predict", "predict_proba", "predict_log_proba", "decision_function",
                             "transform", "score_samples")
                if callable(getattr(self._model, name, None))
            ]
            model_name = f"{type(self._model).__module__}.{type(self._model).__qualname__}"
            raise MLOpError(
                f"op {self.name!r}: the model class {model_name} has no {function!r} method to "
                f"predict with; set predict_function on {type(self).__name__} to one it has: "
                f"{', '.join(repr(name) for name in available) or 'none found'}"
            )

    def _init_model(self) -> Any:
        """Creates the estimator: ``model_class(**model_parameters)``.

        The parameters are deep-copied, so estimators given as parameters (the steps of a
        scikit-learn ``Pipeline`` ...) are never shared between ops or trainings.
        """
        return self.model_class(**copy.deepcopy(dict(self.model_parameters)))

    def fit(self, *args, **kwargs) -> None:
        """Trains a fresh estimator on the inputs (with ``fit_extra_parameters``) and keeps it.

        :param args: the inputs of the estimator's ``fit``
        """
        model = self._init_model()
        model.fit(*args, **self.fit_extra_parameters, **kwargs)
        self._model = model

    def predict(self, *args, **kwargs) -> Any:
        """Calls the estimator's ``predict_function`` on the inputs.

        :param args: the inputs of the estimator's predict function
        :returns: the prediction
        """
        return getattr(self._model, self.predict_function)(*args, **kwargs)
