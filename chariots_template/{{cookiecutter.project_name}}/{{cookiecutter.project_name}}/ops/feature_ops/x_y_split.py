"""The ops separating the features from the target."""
import numpy as np
import pandas as pd
from chariots.pipelines.ops import BaseOp


class XYSplit(BaseOp):
    """Splits the iris DataFrame into the features ``X`` and the ``target`` ``y``.

    Both come out as numpy arrays, like the plain lists clients send for predictions, so the
    models are trained and queried on the same kind of input.
    """

    def execute(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return df.drop(columns="target").to_numpy(), df["target"].to_numpy()


class XSplit(BaseOp):
    """Keeps only the features ``X`` of the iris DataFrame (what the PCA trains on)."""

    def execute(self, df: pd.DataFrame) -> np.ndarray:
        return df.drop(columns="target").to_numpy()
