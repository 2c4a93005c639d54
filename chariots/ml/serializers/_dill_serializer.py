"""Serialization with dill, the default format of ML ops' models."""
from __future__ import annotations

from typing import Any

from chariots.ml.serializers._base_serializer import BaseSerializer


class DillSerializer(BaseSerializer):
    """Serializes objects with dill (pickle that also handles lambdas, closures and more).

    Only load bytes you trust: unpickling can run arbitrary code.
    """

    def serialize_object(self, target: Any) -> bytes:
        """Serializes an object with dill.

        :param target: the object to serialize
        :returns: the pickled bytes
        """
        import dill

        return dill.dumps(target)

    def deserialize_object(self, serialized_object: bytes) -> Any:
        """Unpickles bytes made by :meth:`serialize_object`.

        :param serialized_object: the pickled bytes
        :returns: the object
        """
        import dill

        return dill.loads(serialized_object)
