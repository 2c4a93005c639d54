"""Small ops for the red-team lineage attacks (importable, so workers can unpickle them).

The oracle: a downstream model ``Down`` remembers the mean of each input it was fitted on, and
its prediction answers ``{"trained": [...], "seen": [...]}``: the means it trained on and the
means it sees now. Fed the training data, a model served behind exactly the upstream
computation it was trained behind sees what it trained on (``trained == seen``); a difference
means the promise broke.
"""
from __future__ import annotations

import json

import numpy as np

from chariots.ml import BaseMLOp
from chariots.ml.serializers import JSONSerializer
from chariots.ops import BaseOp, LoadableOp
from chariots.versioning import VersionedField, VersionType

#: the training data every ``Data`` op reads (tests change it to get another training)
DATA = {"x": [[1.0, 2.0], [3.0, 5.0], [7.0, 11.0]]}


def means(*arrays):
    return [round(float(np.mean(np.asarray(a, dtype=float))), 9) for a in arrays]


class Data(BaseOp):
    """The entry of a training pipeline: the current training data."""

    def execute(self):
        return np.asarray(DATA["x"], dtype=float)


class Up(BaseMLOp):
    """An upstream model: learns an offset (the data's mean) and adds it."""

    training_update_version = VersionType.MAJOR
    serializer_cls = JSONSerializer

    def _init_model(self):
        return {"k": None}

    def fit(self, x):
        self._model = {"k": float(np.mean(np.asarray(x, dtype=float)))}

    def predict(self, x):
        return np.asarray(x, dtype=float) + self.model["k"]


class UpPatch(Up):
    """The same upstream model, but declaring its retrainings harmless (patch)."""

    training_update_version = VersionType.PATCH


class Down(BaseMLOp):
    """The oracle model: remembers the means it was fitted on."""

    serializer_cls = JSONSerializer

    def _init_model(self):
        return {"trained": None}

    def fit(self, *inputs):
        self._model = {"trained": means(*inputs)}

    def predict(self, *inputs):
        return {"trained": self.model["trained"], "seen": means(*inputs)}


class Scale(BaseOp):
    factor = VersionedField(2.0, VersionType.MAJOR)

    def execute(self, x):
        return np.asarray(x, dtype=float) * self.factor


class Shift(BaseOp):
    offset = VersionedField(1.0, VersionType.MAJOR)

    def execute(self, x):
        return np.asarray(x, dtype=float) + self.offset


class Split(BaseOp):
    """A tuple output: (2x, 3x)."""

    def execute(self, x):
        x = np.asarray(x, dtype=float)
        return x * 2.0, x * 3.0


class Add(BaseOp):
    def execute(self, a, b):
        return np.asarray(a, dtype=float) + np.asarray(b, dtype=float)


class Sub(BaseOp):
    def execute(self, a, b):
        return np.asarray(a, dtype=float) - np.asarray(b, dtype=float)


class Identity(BaseOp):
    def execute(self, x):
        return x


class Offset(LoadableOp):
    """A plain loadable op: adds an offset it holds as its state (set by hand or by ``learn``)."""

    def __init__(self, op_callbacks=None, name=None):
        super().__init__(op_callbacks, name=name)
        self.offset = 0.0

    def execute(self, x):
        return np.asarray(x, dtype=float) + self.offset

    def serialize(self):
        return json.dumps({"offset": self.offset}).encode("utf-8")

    def load(self, serialized_object):
        self.offset = json.loads(serialized_object)["offset"]


class LearningOffset(Offset):
    """A plain loadable op whose state changes when it runs: it learns the mean it sees."""

    def execute(self, x):
        x = np.asarray(x, dtype=float)
        self.offset = float(np.mean(x))
        return x + self.offset


class Factor(BaseOp):
    """A stateless op configured per instance, which says so in its op_version."""

    def __init__(self, factor=2.0, op_callbacks=None, name=None):
        super().__init__(op_callbacks, name=name)
        self.factor = factor

    @property
    def op_version(self):
        from chariots.versioning import Version

        return self.__class__.__version__ + Version().update(VersionType.MAJOR, str(self.factor).encode())

    def execute(self, x):
        return np.asarray(x, dtype=float) * self.factor


class EvilUp(Up):
    """Another class under the name 'up': loads Up's states, answers something else."""

    def predict(self, x):
        return np.asarray(x, dtype=float) * 100.0


class Vocab(Offset):
    """A plain loadable op that learns (the mean of its second input) only when given one."""

    def execute(self, x, learn_from=None):
        if learn_from is not None:
            self.offset = float(np.mean(np.asarray(learn_from, dtype=float)))
        return np.asarray(x, dtype=float) + self.offset


class Unpack(BaseOp):
    """Splits the list a nested pipeline with several inputs receives into a tuple."""

    def execute(self, inputs):
        return tuple(inputs)


class Gate:
    """Events a test uses to stop an op in the middle of its training."""

    import threading as _threading

    entered = _threading.Event()
    release = _threading.Event()
    active = False


class SlowDown(Down):
    """The oracle model, whose fit can be held half-way (model set, fit not returned)."""

    def fit(self, *inputs):
        super().fit(*inputs)
        if Gate.active:
            Gate.entered.set()
            Gate.release.wait(30)


class SlowUp(Up):
    """The upstream model, whose fit can be held after its model is set."""

    def fit(self, x):
        super().fit(x)
        if Gate.active:
            Gate.entered.set()
            Gate.release.wait(30)
