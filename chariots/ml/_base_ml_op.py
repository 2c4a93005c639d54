"""The base class of machine-learning ops: a model that trains or predicts depending on a mode."""
from __future__ import annotations

import abc
import copy
import inspect
import json
import math
import os
import struct
import sys
import time
from typing import Any, List, Optional, Tuple, Type, Union

from chariots.errors import MLOpError, PipelineError
from chariots.ml._ml_mode import MLMode
from chariots.ml.serializers import BaseSerializer, DillSerializer
from chariots.pipelines.callbacks import OpCallBack
from chariots.pipelines.ops import LoadableOp
from chariots.versioning import Version, VersionableMeta, VersionType

# saved op = magic, header length (4 bytes, big endian), JSON header, model bytes
_MAGIC = b"CHARIOTS-ML-OP\x00"
_HEADER_LENGTH = struct.Struct(">I")
_FORMAT = 1

_FIT = MLMode.FIT
_PREDICT = MLMode.PREDICT


class _AbstractVersionableMeta(VersionableMeta, abc.ABCMeta):
    """Versioned classes that can declare abstract methods."""


def _accepted_inputs(cls: type, method_name: str) -> Tuple[range, Tuple[str, ...]]:
    """The numbers of positional inputs a method accepts (``self`` aside) and their names."""
    method = getattr(cls, method_name)
    try:
        parameters = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):  # not introspectable: accept anything
        return range(0, sys.maxsize), ()
    if not isinstance(inspect.getattr_static(cls, method_name), (staticmethod, classmethod)):
        parameters = parameters[1:]
    positional = [
        parameter
        for parameter in parameters
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]
    required = sum(1 for parameter in positional if parameter.default is parameter.empty)
    names = tuple(parameter.name for parameter in positional)
    if any(parameter.kind is parameter.VAR_POSITIONAL for parameter in parameters):
        return range(required, sys.maxsize), names
    return range(required, len(positional) + 1), names


def _read_header(raw: bytes, complete: bool) -> Optional[dict]:
    """The JSON header of saved ML op bytes, or None when it is not one :meth:`BaseMLOp.serialize` writes."""
    if not complete:
        return None
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(header, dict):
        return None
    numbers = (int, float)
    training_time = header.get("last_training_time")
    if not isinstance(header.get("format", 0), int) or isinstance(header.get("format", 0), bool):
        return None
    if training_time is not None and (not isinstance(training_time, numbers) or isinstance(training_time, bool)
                                      or not math.isfinite(training_time)):
        return None
    return header


class BaseMLOp(LoadableOp, metaclass=_AbstractVersionableMeta):
    """An op holding a machine-learning model, which it trains or uses depending on its mode.

    - ``MLMode.FIT`` trains the model on the node's inputs (``fit(*inputs)``) and outputs nothing;
    - ``MLMode.PREDICT`` returns ``predict(*inputs)``;
    - ``MLMode.FIT_PREDICT`` trains on all the inputs, then predicts on the first one.

    The usual workflow: run a training pipeline, save it, load the prediction pipeline from the
    op store, and call it:

    >>> train = Pipeline([
    ...     Node(IrisFullDataSet(), output_nodes=["x", "y"]),
    ...     Node(PCAOp(MLMode.FIT_PREDICT), input_nodes=["x"], output_nodes="x_transformed"),
    ...     Node(LogisticOp(MLMode.FIT), input_nodes=["x_transformed", "y"])
    ... ], 'train')
    >>> pred = Pipeline([
    ...     Node(PCAOp(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="x_transformed"),
    ...     Node(LogisticOp(MLMode.PREDICT), input_nodes=["x_transformed"], output_nodes=['pred']),
    ...     Node(FromArray(), input_nodes=['pred'], output_nodes='__pipeline_output__')
    ... ], 'pred')

    To support another framework, subclass it and define :meth:`fit`, :meth:`predict` and
    :meth:`_init_model`; set ``serializer_cls`` to change the format the model is saved in.
    Each training updates the ``training_update_version`` sub-version of :attr:`op_version`
    with the training time.

    :param mode: what the op does when it runs
    :param op_callbacks: callbacks run before and after each execution of the op
    :param name: the name the op store knows the op by (its class name in lower case by default)
    :raises ValueError: if ``mode`` is not an :class:`MLMode` (or one of its values)
    """

    #: the sub-version a training changes ('patch' by default)
    training_update_version: Union[VersionType, str] = VersionType.PATCH
    #: the serializer of the model
    serializer_cls: Type[BaseSerializer] = DillSerializer

    #: a random id of the last training, part of the version (objects pickled before it existed: None)
    _training_id: Optional[str] = None
    _fit_inputs: range = range(0, sys.maxsize)
    _fit_input_names: Tuple[str, ...] = ()
    _predict_inputs: range = range(0, sys.maxsize)
    _predict_input_names: Tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # input counts are read from the signatures once, so execute only compares a length
        cls._fit_inputs, cls._fit_input_names = _accepted_inputs(cls, "fit")
        cls._predict_inputs, cls._predict_input_names = _accepted_inputs(cls, "predict")

    def __init__(self, mode: MLMode, op_callbacks: Optional[List[OpCallBack]] = None, name: Optional[str] = None):
        super().__init__(op_callbacks, name=name)
        self._mode = MLMode(mode)
        self._last_training_time: Optional[float] = None
        self._training_id: Optional[str] = None
        self._saved_with: Optional[str] = None
        self._op_version: Optional[Version] = None
        self._model = self._init_model()

    @property
    def mode(self) -> MLMode:
        """the mode this op was instantiated with"""
        return self._mode

    @property
    def model(self) -> Any:
        """the op's inner model"""
        return self._model

    @property
    def last_training_time(self) -> Optional[float]:
        """when the model was last trained (a ``time.time()`` stamp), None if it never was"""
        return self._last_training_time

    @property
    def holds_state(self) -> bool:
        """whether the model was ever trained (an untrained model is not saved)"""
        return self._last_training_time is not None

    @property
    def trains_when_run(self) -> bool:
        """whether running the op trains it (``MLMode.FIT`` and ``MLMode.FIT_PREDICT``)"""
        return self._mode is not _PREDICT

    def version_for_state(self, state_bytes: bytes) -> Version:
        """An ML op's state is versioned by its training time: its :attr:`op_version`."""
        return self.op_version

    def state_matches(self, version: Version) -> bool:
        """Whether the model just loaded was trained at the time ``version`` says."""
        return self.op_version == version

    def without_state(self) -> "BaseMLOp":
        """A copy of the op without its model (nor its training time): a worker loads it back."""
        stripped = copy.copy(self)
        stripped._model = None
        stripped._last_training_time = None
        stripped._training_id = None
        stripped._op_version = None
        stripped._state_version = None
        stripped._state_bytes_hash = None
        stripped.training_lineage = None
        stripped.training_upstream = None
        return stripped

    @property
    def allow_version_change(self) -> bool:
        """True when the op trains (FIT or FIT_PREDICT): it may be loaded to be retrained on new
        upstream versions"""
        return self._mode is not _PREDICT

    @property
    def op_version(self) -> Version:
        """the class version plus the last training time, fed to the ``training_update_version``
        sub-version; the version's creation time is the training time (0 if never trained)"""
        version = self._op_version
        if version is None:
            version = self._op_version = self._compute_op_version()
        return version

    def _compute_op_version(self) -> Version:
        trained_at = self._last_training_time
        training = Version()
        if trained_at is not None:
            # the time for the docs' ordering, the training's own id so that two trainings at the
            # same time (two hosts, a slow clock) never share a version
            stamp = repr(trained_at) if self._training_id is None else f"{trained_at!r}:{self._training_id}"
            training.update(VersionType(self.training_update_version), stamp.encode("utf-8"))
        combined = type(self).__version__ + training
        return Version(
            combined.major,
            combined.minor,
            combined.patch,
            creation_time=0.0 if trained_at is None else trained_at,
        )

    @abc.abstractmethod
    def _init_model(self) -> Any:
        """Creates a new, untrained model (called when the op is created)."""

    @abc.abstractmethod
    def fit(self, *args, **kwargs) -> None:
        """Trains the inner model on the node's inputs.

        It must not return anything: use ``MLMode.FIT_PREDICT`` to predict on the same data.
        """

    @abc.abstractmethod
    def predict(self, *args, **kwargs) -> Any:
        """Predicts with the trained (or loaded) model."""

    def execute(self, *args, **kwargs) -> Any:
        """Trains, predicts, or both, depending on the op's mode.

        :raises PipelineError: if the node gives the op a number of inputs its mode does not take
        :raises MLOpError: if the op predicts before its model was trained or loaded
        :returns: the prediction (None in ``MLMode.FIT``)
        """
        mode = self._mode
        if mode is _PREDICT:
            if self._last_training_time is None:
                raise self._not_trained_error()
            if len(args) not in self._predict_inputs:
                raise self._inputs_error(len(args), self._predict_inputs, self._predict_input_names)
            return self.predict(*args, **kwargs)
        if len(args) not in self._fit_inputs:
            raise self._inputs_error(len(args), self._fit_inputs, self._fit_input_names)
        self.fit(*args, **kwargs)
        self._record_training()
        if mode is _FIT:
            return None
        return self.predict(args[0])

    def _record_training(self) -> None:
        now = time.time()
        previous = self._last_training_time
        if previous is not None and now <= previous:
            # two trainings within the clock's resolution must still give two versions
            now = math.nextafter(previous, math.inf)
        self._last_training_time = now
        self._training_id = os.urandom(8).hex()
        self._op_version = None
        self.training_lineage = {}  # filled by the pipeline the op trained in

    def _not_trained_error(self) -> MLOpError:
        return MLOpError(
            f"op {self.name!r} cannot predict: its model was never trained or loaded. Train it in "
            "a pipeline where it runs in MLMode.FIT or MLMode.FIT_PREDICT, save that pipeline, then "
            "load this one from the op store"
        )

    def _inputs_error(self, given: int, accepted: range, names: Tuple[str, ...]) -> PipelineError:
        if accepted.stop == sys.maxsize:
            expected = f"at least {accepted.start} input{'s' if accepted.start != 1 else ''}"
        elif len(accepted) == 1:
            expected = f"{accepted.start} input{'s' if accepted.start != 1 else ''}"
        else:
            expected = f"{accepted.start} to {accepted.stop - 1} inputs"
        listed = f" ({', '.join(names)})" if names else ""
        return PipelineError(
            f"op {self.name!r} in mode {self._mode.value!r} takes {expected}{listed} but its node "
            f"gave it {given}: set the input_nodes of its Node accordingly"
        )

    def serialize(self) -> bytes:
        """Serializes the model with ``serializer_cls``, with its last training time and the
        Chariots version that saved it.

        :returns: bytes that :meth:`load` accepts
        """
        from chariots import __version__

        model_bytes = self.serializer_cls().serialize_object(self._model)
        header = json.dumps(
            {
                "format": _FORMAT,
                "chariots_version": __version__,
                "last_training_time": self._last_training_time,
                "training_id": self._training_id,
                "serializer": f"{self.serializer_cls.__module__}.{self.serializer_cls.__qualname__}",
            }
        ).encode("utf-8")
        return b"".join((_MAGIC, _HEADER_LENGTH.pack(len(header)), header, model_bytes))

    def load(self, serialized_object: bytes) -> None:
        """Sets the model and its training time from bytes made by :meth:`serialize`.

        :param serialized_object: the bytes of a saved version of this op
        :raises MLOpError: if the bytes were not made by an ML op's :meth:`serialize`
        """
        header_start = len(_MAGIC) + _HEADER_LENGTH.size
        if not serialized_object.startswith(_MAGIC) or len(serialized_object) < header_start:
            raise MLOpError(
                f"op {self.name!r} cannot load these bytes: they were not made by "
                f"{type(self).__name__}.serialize() (no Chariots ML op header)"
            )
        (header_length,) = _HEADER_LENGTH.unpack_from(serialized_object, len(_MAGIC))
        model_start = header_start + header_length
        header = _read_header(serialized_object[header_start:model_start], len(serialized_object) >= model_start)
        if header is None:
            raise MLOpError(
                f"op {self.name!r} cannot load these bytes: their Chariots ML op header is corrupt (not a JSON "
                "object with a numeric format and last_training_time, or cut short): save the op again"
            )
        if header.get("format", 0) > _FORMAT:
            raise MLOpError(
                f"op {self.name!r} was saved by Chariots {header.get('chariots_version')} in a newer "
                "format than this version of Chariots reads: upgrade Chariots to load it"
            )
        try:
            model = self.serializer_cls().deserialize_object(serialized_object[model_start:])
        except Exception as error:
            error.add_note(
                f"while loading the model of op {self.name!r} with {self.serializer_cls.__name__}; it "
                f"was saved with {header.get('serializer')} by Chariots {header.get('chariots_version')}"
            )
            raise
        self._model = model
        self._last_training_time = header.get("last_training_time")
        training_id = header.get("training_id")
        self._training_id = training_id if isinstance(training_id, str) else None
        self._saved_with = header.get("chariots_version")
        self._op_version = None
