"""Serialization of pandas data frames to CSV."""
from __future__ import annotations

import io
import sys
from typing import TYPE_CHECKING

from chariots.errors import MissingExtraError
from chariots.ml.serializers._base_serializer import BaseSerializer

if TYPE_CHECKING:
    import pandas


class CSVSerializer(BaseSerializer):
    """Serializes a pandas data frame to CSV (its index included) and back.

    pandas is imported on first use; it comes with ``pip install chariots[sklearn]``.

    :raises TypeError: if asked to serialize anything other than a pandas DataFrame
    """

    def serialize_object(self, target: "pandas.DataFrame") -> bytes:
        """Writes a data frame as UTF-8 CSV.

        :param target: the data frame to serialize
        :raises TypeError: if ``target`` is not a pandas DataFrame
        :returns: the CSV bytes
        """
        # a DataFrame can only exist if pandas is already imported
        pandas = sys.modules.get("pandas")
        if pandas is None or not isinstance(target, pandas.DataFrame):
            raise TypeError(
                f"CSVSerializer can only serialize a pandas DataFrame, got {type(target).__module__}."
                f"{type(target).__qualname__}: convert it with pandas.DataFrame(...) or use another "
                "serializer (DillSerializer, JSONSerializer)"
            )
        return target.to_csv().encode("utf-8")

    def deserialize_object(self, serialized_object: bytes) -> "pandas.DataFrame":
        """Reads a data frame from CSV bytes made by :meth:`serialize_object`.

        :param serialized_object: the CSV bytes
        :raises MissingExtraError: if pandas is not installed
        :returns: the data frame
        """
        try:
            import pandas
        except ImportError as exc:
            raise MissingExtraError("pandas", "sklearn") from exc
        return pandas.read_csv(io.BytesIO(serialized_object), index_col=0)
