"""Ops wrapping Keras 3 models."""
from __future__ import annotations

from typing import Any, List, Optional, Union

from chariots.ml._base_ml_op import BaseMLOp
from chariots.ml._ml_mode import MLMode
from chariots.ml.keras._keras_import import import_keras
from chariots.ml.keras._keras_serializer import KerasModelSerializer
from chariots.pipelines.callbacks import OpCallBack
from chariots.versioning import VersionedFieldDict, VersionType


def _as_model_input(data: Any) -> Any:
    """Nested lists of numbers (a JSON request body) become a numpy array; a list of arrays is
    left alone as the inputs of a multi-input model."""
    if isinstance(data, (list, tuple)) and not any(hasattr(item, "shape") for item in data):
        import numpy

        return numpy.asarray(data)
    return data


class KerasOp(BaseMLOp):
    """Op base class for Keras (3) neural networks.

    Override :meth:`_init_model` to build and compile the model, and set ``fit_params``
    (keyword arguments of ``model.fit``: epochs, batch size ...) and ``input_params``
    (keyword arguments of ``model.predict``) as :class:`~chariots.versioning.VersionedFieldDict`:

    >>> class KerasLinear(KerasOp):
    ...     fit_params = VersionedFieldDict(VersionType.MAJOR, {
    ...         'epochs': 3,
    ...         'batch_size': 32,
    ...     })
    ...
    ...     def _init_model(self, *input_data_sets):
    ...         model = models.Sequential([layers.Dense(3, activation='softmax', input_shape=(4,))])
    ...         model.compile(loss='categorical_crossentropy', optimizer='adam')
    ...         return model

    Training continues from the current weights (a model loaded from the op store keeps
    learning). The model is saved in Keras' ``.keras`` format inside the op's bytes.
    Keras is imported when the first KerasOp is created; importing this module sets
    ``KERAS_BACKEND`` to ``jax`` unless it is already set.

    :param mode: what the op does when it runs
    :param verbose: the verbosity of Keras' ``fit`` and ``predict``
    :param op_callbacks: callbacks run before and after each execution of the op
    :raises MissingExtraError: if Keras or its backend is not installed
    """

    serializer_cls = KerasModelSerializer
    fit_params = VersionedFieldDict(VersionType.MAJOR, {})
    input_params = VersionedFieldDict(VersionType.MAJOR, {})

    def __init__(
        self,
        mode: MLMode,
        verbose: Optional[int] = 1,
        op_callbacks: Optional[List[OpCallBack]] = None,
        name: Optional[str] = None,
    ):
        import_keras()
        self._verbose = verbose
        super().__init__(mode, op_callbacks, name=name)

    def fit(
        self,
        input_data_sets: Union[List[Any], Any],
        output_datasets: Union[List[Any], Any],
    ) -> None:
        """Trains the model (``model.fit`` with ``fit_params``). Do not override it.

        :param input_data_sets: the model's input (numpy array), or a list of them for a
                                multi-input model
        :param output_datasets: the targets, or a list of them for a multi-output model
        """
        self._model.fit(
            _as_model_input(input_data_sets),
            _as_model_input(output_datasets),
            verbose=self._verbose,
            **self.fit_params,
        )

    def predict(self, input_datasets: Any) -> Any:
        """Predicts with the model (``model.predict`` with ``input_params``). Do not override it.

        :param input_datasets: the model's input (numpy array or nested lists of numbers), or a
                               list of arrays for a multi-input model
        :returns: the prediction (a numpy array)
        """
        return self._model.predict(
            _as_model_input(input_datasets), verbose=self._verbose, **self.input_params
        )
