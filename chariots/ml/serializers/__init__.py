"""Serializers turning models and data into bytes (dill, skops, JSON, CSV)."""
from chariots.ml.serializers._base_serializer import BaseSerializer
from chariots.ml.serializers._csv_serializer import CSVSerializer
from chariots.ml.serializers._dill_serializer import DillSerializer
from chariots.ml.serializers._json_serializer import JSONSerializer
from chariots.ml.serializers._skops_serializer import SkopsSerializer

__all__ = ["BaseSerializer", "DillSerializer", "JSONSerializer", "CSVSerializer", "SkopsSerializer"]
