"""Small ops shared by the pipeline tests (importable, so workers and subprocesses can use them)."""
from __future__ import annotations

import json

from chariots.pipelines.ops import BaseOp, LoadableOp
from chariots.versioning import VersionedField, VersionType


class AddOneOp(BaseOp):
    def execute(self, number):
        return number + 1


class IsOddOp(BaseOp):
    def execute(self, number):
        return number % 2 == 1


class SplitOp(BaseOp):
    """Returns its input and its double, as two outputs."""

    def execute(self, number):
        return number, 2 * number


class SumOp(BaseOp):
    def execute(self, *numbers):
        return sum(numbers)


class Counter(LoadableOp):
    """Counts its calls; the count is its saved state and its patch version."""

    step = VersionedField(1, VersionType.MAJOR)

    def __init__(self, op_callbacks=None):
        super().__init__(op_callbacks)
        self.count = 0

    @property
    def op_version(self):
        return type(self).__version__ + type(self).__version__.__class__().update_patch(
            str(self.count).encode()
        )

    def execute(self, *args):
        self.count += self.step
        return self.count

    def serialize(self) -> bytes:
        return json.dumps({"count": self.count}).encode()

    def load(self, serialized_object: bytes) -> None:
        self.count = json.loads(serialized_object)["count"]


class Model(LoadableOp):
    """A trainable op: ``train`` mode bumps its major version, ``predict`` adds the learnt offset."""

    def __init__(self, train: bool = False):
        super().__init__()
        self.train = train
        self.offset = 0
        self.trainings = 0

    @property
    def allow_version_change(self) -> bool:
        return self.train

    @property
    def op_version(self):
        return type(self).__version__ + type(self).__version__.__class__().update_major(
            str(self.trainings).encode()
        )

    def execute(self, value):
        if self.train:
            self.offset = value
            self.trainings += 1
            return None
        return value + self.offset

    def serialize(self) -> bytes:
        return json.dumps({"offset": self.offset, "trainings": self.trainings}).encode()

    def load(self, serialized_object: bytes) -> None:
        state = json.loads(serialized_object)
        self.offset, self.trainings = state["offset"], state["trainings"]


class Downstream(Model):
    """A second model, trained on the output of :class:`Model`."""


class Upstream(Model):
    """An upstream model whose training result feeds :class:`Downstream`."""

    def execute(self, value):
        if self.train:
            super().execute(value)
            return value
        return super().execute(value)
