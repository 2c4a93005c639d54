"""Machine-learning ops: MLMode, BaseMLOp, and the scikit-learn and Keras integrations."""
from chariots.ml._base_ml_op import BaseMLOp
from chariots.ml._ml_mode import MLMode

__all__ = ["MLMode", "BaseMLOp"]
