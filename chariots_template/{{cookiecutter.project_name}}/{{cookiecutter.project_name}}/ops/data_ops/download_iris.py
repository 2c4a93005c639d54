"""The op loading the iris dataset."""
import pandas as pd
from chariots.pipelines.ops import BaseOp
from sklearn import datasets


class DownloadIris(BaseOp):
    """Loads the iris dataset shipped with scikit-learn, as a DataFrame with a ``target`` column."""

    def execute(self) -> pd.DataFrame:
        iris = datasets.load_iris()
        df = pd.DataFrame(data=iris["data"], columns=iris["feature_names"])
        df["target"] = iris["target"]
        return df
