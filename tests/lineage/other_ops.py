"""A model class of another module whose default op name, ``linearop``, is also
:class:`tests.lineage.lineage_ops.LinearOp`'s."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Ridge

from chariots.ml.sklearn import SKSupervisedOp
from chariots.ops import BaseOp
from chariots.versioning import VersionedField, VersionType


class LinearOp(SKSupervisedOp):
    training_update_version = VersionType.PATCH
    model_class = Ridge


class Scale(BaseOp):
    """A stateless op whose class name is also :class:`tests.lineage.lineage_ops.Scale`'s."""

    factor = VersionedField(2.0, VersionType.MAJOR)

    def execute(self, x):
        return np.asarray(x, dtype=float) * self.factor


def scale_class(factor: float) -> type:
    """A new release of :class:`Scale`: the same class path, another major field."""
    return type(BaseOp)("Scale", (BaseOp,), {"factor": VersionedField(factor, VersionType.MAJOR),
                                            "execute": globals()["Scale"].execute, "__module__": __name__,
                                            "__qualname__": "Scale"})
