"""Keras models to bytes in Keras' own ``.keras`` format, and back."""
from __future__ import annotations

import os
import tempfile
from typing import Any

from chariots.ml.keras._keras_import import import_keras
from chariots.ml.serializers import BaseSerializer


class KerasModelSerializer(BaseSerializer):
    """Saves a Keras model as a ``.keras`` archive (architecture, weights, optimizer state).

    Keras saves to files, so the archive goes through a temporary directory.
    Custom layers must be registered with ``keras.saving.register_keras_serializable``.
    """

    def serialize_object(self, target: Any) -> bytes:
        """Saves a Keras model into bytes.

        :param target: the Keras model
        :returns: the bytes of its ``.keras`` archive
        """
        with tempfile.TemporaryDirectory(prefix="chariots-keras-") as directory:
            path = os.path.join(directory, "model.keras")
            target.save(path)
            with open(path, "rb") as model_file:
                return model_file.read()

    def deserialize_object(self, serialized_object: bytes) -> Any:
        """Loads a Keras model from the bytes of a ``.keras`` archive.

        :param serialized_object: the bytes made by :meth:`serialize_object`
        :returns: the Keras model (compiled if it was when saved)
        """
        keras = import_keras()
        with tempfile.TemporaryDirectory(prefix="chariots-keras-") as directory:
            path = os.path.join(directory, "model.keras")
            with open(path, "wb") as model_file:
                model_file.write(serialized_object)
            return keras.saving.load_model(path)
