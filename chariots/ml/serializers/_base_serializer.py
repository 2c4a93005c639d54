"""The serializer interface: objects to bytes and back."""
from __future__ import annotations

import abc
from typing import Any


class BaseSerializer(abc.ABC):
    """Turns objects into bytes for persistence and communication, and back.

    ML ops serialize their inner model with one: set the op's ``serializer_cls`` class
    attribute to change the format the model is saved in.
    """

    @abc.abstractmethod
    def serialize_object(self, target: Any) -> bytes:
        """Serializes an object into bytes (for an ML op, the model, not the op).

        :param target: the object to serialize
        :returns: the bytes of the serialized object
        """

    @abc.abstractmethod
    def deserialize_object(self, serialized_object: bytes) -> Any:
        """Rebuilds an object from bytes made by :meth:`serialize_object`.

        :param serialized_object: the serialized bytes
        :returns: the deserialized object
        """
