"""The op turning a numpy array into a list the server sends back as JSON."""
import numpy as np
from chariots.pipelines.ops import BaseOp


class FromArray(BaseOp):
    """Converts a numpy array (the models' predictions) into a plain list."""

    def execute(self, array: np.ndarray) -> list:
        return array.tolist()
