"""Keras 3 integration: KerasOp (Keras itself is imported when the first KerasOp is created)."""
from chariots.ml.keras._keras_op import KerasOp

__all__ = ["KerasOp"]
