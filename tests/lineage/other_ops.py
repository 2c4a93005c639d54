"""A model class of another module whose default op name, ``linearop``, is also
:class:`tests.lineage.lineage_ops.LinearOp`'s."""

from __future__ import annotations

from sklearn.linear_model import Ridge

from chariots.ml.sklearn import SKSupervisedOp
from chariots.versioning import VersionType


class LinearOp(SKSupervisedOp):
    training_update_version = VersionType.PATCH
    model_class = Ridge
