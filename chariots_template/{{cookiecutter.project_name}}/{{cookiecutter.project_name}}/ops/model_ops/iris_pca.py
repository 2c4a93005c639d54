"""The PCA reducing the iris features to two components."""
from chariots.ml.sklearn import SKUnsupervisedOp
from chariots.versioning import VersionedFieldDict, VersionType
from sklearn.decomposition import PCA


class IrisPCA(SKUnsupervisedOp):
    """A PCA with two components; changing its parameters changes its major version."""

    model_class = PCA
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {"n_components": 2})
