"""The PCA reducing the iris features to two components."""
from chariots.ml.sklearn import SKUnsupervisedOp
from chariots.versioning import VersionedFieldDict, VersionType
from sklearn.decomposition import PCA


class IrisPCA(SKUnsupervisedOp):
    """A PCA with two components.

    Changing its parameters changes its major version, and so does a new training
    (``training_update_version``): the forest sees the data through the PCA, so it must be
    retrained on each new PCA before the prediction pipeline can load them together.
    """

    training_update_version = VersionType.MAJOR
    model_class = PCA
    model_parameters = VersionedFieldDict(VersionType.MAJOR, {"n_components": 2})
