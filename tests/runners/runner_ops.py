"""Ops for the runner tests, importable so Dask's worker processes can unpickle them."""
from __future__ import annotations

import json
import os
import signal
import time

from chariots.pipelines.ops import BaseOp, LoadableOp
from chariots.versioning import VersionedField, VersionedFieldDict, VersionType


class Sleep(BaseOp):
    """Sleeps ``seconds`` then returns its input plus one."""

    def __init__(self, seconds: float = 0.5, name=None, op_callbacks=None):
        super().__init__(op_callbacks, name=name)
        self.seconds = seconds

    def execute(self, value):
        time.sleep(self.seconds)
        return value + 1


class Source(BaseOp):
    def execute(self):
        return 1


class Add(BaseOp):
    def execute(self, *values):
        return sum(values)


class Fork(BaseOp):
    """Returns two outputs."""

    def execute(self, value):
        return value, value * 10


class Boom(BaseOp):
    def execute(self, value):
        raise ArithmeticError(f"boom on {value}")


class Tally(LoadableOp):
    """A plain loadable op: keeps the sum of what it saw (its state)."""

    step = VersionedField(1, VersionType.MAJOR)

    def __init__(self, name=None):
        super().__init__(name=name)
        self.total = 0
        self.pid = None

    def execute(self, value):
        self.total += value
        self.pid = os.getpid()
        return self.total

    def serialize(self) -> bytes:
        return json.dumps({"total": self.total}).encode()

    def load(self, serialized_object: bytes) -> None:
        self.total = json.loads(serialized_object)["total"]


class DieOnce(BaseOp):
    """Kills the worker process running it the first time (a marker file says it happened)."""

    def __init__(self, marker: str, always: bool = False):
        super().__init__()
        self.marker = marker
        self.always = always

    def execute(self, value):
        if self.always or not os.path.exists(self.marker):
            with open(self.marker, "a") as file:
                file.write(f"{os.getpid()}\n")
            os.kill(os.getpid(), signal.SIGKILL)
        return value * 2


try:  # the iris example's random forest, seeded (only where scikit-learn is installed)
    from tests.ml.iris_ops import IrisRF

    class SeededIrisRF(IrisRF):
        """The tutorial's IrisRF with a random_state: the same forest in every process."""

        model_parameters = VersionedFieldDict(
            VersionType.MINOR, {"n_estimators": 5, "max_depth": 2, "random_state": 0}
        )

        def __init__(self, mode, name="seedediris_rf"):
            super().__init__(mode, name=name)
except ImportError:  # pragma: no cover
    pass


class Stamp(BaseOp):
    """Sleeps ``seconds`` and returns when it started and ended (``time.time()``, one machine's clock)."""

    def __init__(self, seconds: float, name=None):
        super().__init__(name=name)
        self.seconds = seconds

    def execute(self, value):
        started = time.time()
        time.sleep(self.seconds)
        return (started, time.time())


class Pair(BaseOp):
    def execute(self, left, right):
        return [list(left), list(right)]


class WrongCount(BaseOp):
    """Declared with two outputs, returns three values."""

    def execute(self, value):
        return value, value, value


class WhereAmI(BaseOp):
    """Returns the id of the process running it (with its input, so the node has one)."""

    def execute(self, value):
        return [os.getpid(), value]
