"""Serialization to UTF-8 JSON."""
from __future__ import annotations

import json
from typing import Any

from chariots.ml.serializers._base_serializer import BaseSerializer


class JSONSerializer(BaseSerializer):
    """Serializes JSON-compatible objects (dicts, lists, strings, numbers, booleans, None)."""

    def serialize_object(self, target: Any) -> bytes:
        """Serializes an object as UTF-8 JSON.

        :param target: a JSON-compatible object
        :raises TypeError: if the object (or something inside it) is not JSON-compatible
        :returns: the JSON bytes
        """
        return json.dumps(target).encode("utf-8")

    def deserialize_object(self, serialized_object: bytes) -> Any:
        """Parses UTF-8 JSON bytes.

        :param serialized_object: the JSON bytes
        :returns: the parsed object
        """
        return json.loads(serialized_object)
