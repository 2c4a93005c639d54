"""scikit-learn integration: ops wrapping supervised and unsupervised estimators."""
from chariots.ml.sklearn._base_sk_op import BaseSKOp
from chariots.ml.sklearn._sk_supervised_op import SKSupervisedOp
from chariots.ml.sklearn._sk_unsupervised_op import SKUnsupervisedOp

__all__ = ["BaseSKOp", "SKSupervisedOp", "SKUnsupervisedOp"]
