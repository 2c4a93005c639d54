"""Serialization of scikit-learn models with skops, which loads without unpickling."""
from __future__ import annotations

from typing import Any, Sequence

from chariots.errors import MissingExtraError, MLOpError
from chariots.ml.serializers._base_serializer import BaseSerializer

__all__ = ["SkopsSerializer"]


def _skops_io():
    try:
        import skops.io as skops_io
    except ImportError as error:
        raise MissingExtraError("skops", "sklearn") from error
    return skops_io


class SkopsSerializer(BaseSerializer):
    """Serializes scikit-learn models with ``skops.io``: loading rebuilds only the types skops
    trusts (scikit-learn's estimators, numpy, scipy and builtins) and those listed in
    :attr:`trusted_types`, and never unpickles. Use it on an SK op::

        class LogisticOp(SKSupervisedOp):
            model_class = LogisticRegression
            serializer_cls = SkopsSerializer

    For a model holding other types (your own transformer), subclass it and list them::

        class MySerializer(SkopsSerializer):
            trusted_types = ("my_project.transformers.Scaler",)
    """

    #: fully qualified names of the types trusted beyond skops' own defaults
    trusted_types: Sequence[str] = ()

    def serialize_object(self, target: Any) -> bytes:
        """Serializes a model with ``skops.io.dumps``."""
        return _skops_io().dumps(target)

    def deserialize_object(self, serialized_object: bytes) -> Any:
        """Rebuilds a model made by :meth:`serialize_object`, refusing untrusted types.

        :raises MLOpError: naming the untrusted types found, and how to trust them
        """
        skops_io = _skops_io()
        trusted = list(self.trusted_types)
        try:
            return skops_io.loads(serialized_object, trusted=trusted or None)
        except skops_io.exceptions.UntrustedTypesFoundException as error:
            found = skops_io.get_untrusted_types(data=serialized_object)
            untrusted = sorted(set(found) - set(trusted))
            raise MLOpError(
                f"the skops model holds types that are not trusted: {untrusted}. If you trust them, list them "
                f"in the trusted_types of a SkopsSerializer subclass"
            ) from error
