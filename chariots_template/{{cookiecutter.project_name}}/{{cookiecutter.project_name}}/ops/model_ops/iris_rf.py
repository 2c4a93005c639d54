"""The random forest classifying iris flowers."""
from chariots.ml.sklearn import SKSupervisedOp
from chariots.versioning import VersionedFieldDict, VersionType
from sklearn.ensemble import RandomForestClassifier


class IrisRF(SKSupervisedOp):
    """A small random forest; changing its parameters changes its minor version."""

    model_class = RandomForestClassifier
    model_parameters = VersionedFieldDict(VersionType.MINOR, {"n_estimators": 5, "max_depth": 2})
