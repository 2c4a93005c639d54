"""Names the package's docstring examples use, given to ``--doctest-modules`` runs; and a key
folder of the run's own for the key files of the embedded stores tests and examples create."""
import os
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).parent / "chariots"


@pytest.fixture(scope="session", autouse=True)
def _run_key_home(tmp_path_factory):
    """Embedded stores keep their key files in the user's key folder: this run's are its own
    (workers and servers the tests start inherit it), not the home folder's."""
    if "CHARIOTS_KEY_HOME" not in os.environ:
        os.environ["CHARIOTS_KEY_HOME"] = str(tmp_path_factory.mktemp("key-home"))
    yield


@pytest.fixture(autouse=True)
def _package_doctest_namespace(request, tmp_path):
    path = pathlib.Path(str(request.node.fspath))
    if PACKAGE not in path.parents:
        return
    namespace = request.getfixturevalue("doctest_namespace")
    from chariots import MLMode, Pipeline
    from chariots.nodes import Node
    from chariots.pipelines.runners import SequentialRunner
    from chariots.versioning import VersionableMeta, VersionedField, VersionedFieldDict, VersionType

    namespace.update(
        Pipeline=Pipeline, Node=Node, MLMode=MLMode, runner=SequentialRunner(), VersionType=VersionType,
        VersionedField=VersionedField, VersionedFieldDict=VersionedFieldDict, VersionableMeta=VersionableMeta,
        saver_path=str(tmp_path / "saver"), app_path=str(tmp_path / "app"),
        my_url=f"sqlite:///{tmp_path / 'store.db'}",
    )
    try:
        from sklearn.decomposition import PCA
        from sklearn.linear_model import LogisticRegression

        from tests.ml import iris_ops
    except ImportError:  # scikit-learn missing: the ML examples fail with a clear NameError
        return
    namespace.update(PCA=PCA, LogisticRegression=LogisticRegression)
    names = ("IrisFullDataSet", "IrisXDataSet", "FromArray", "PCAOp", "LogisticOp")
    namespace.update({name: getattr(iris_ops, name) for name in names})
