"""Loading Keras on first use, on the lightest backend unless the user chose one."""
from __future__ import annotations

import os
from types import ModuleType

from chariots.errors import MissingExtraError

#: the backend Keras runs on when ``KERAS_BACKEND`` is not set: jax installs from PyPI as a
#: light CPU-only wheel (``jax[cpu]``), unlike TensorFlow or PyTorch
DEFAULT_BACKEND = "jax"

# before the user's own `import keras`, which usually follows `from chariots.keras import KerasOp`
os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)


def import_keras() -> ModuleType:
    """Imports Keras (once), on the ``KERAS_BACKEND`` backend (jax by default).

    :raises MissingExtraError: if Keras or its backend is not installed
    :returns: the keras module
    """
    try:
        import keras
    except ImportError as exc:
        backend = os.environ.get("KERAS_BACKEND", DEFAULT_BACKEND)
        raise MissingExtraError(f"keras with its {backend!r} backend", "keras") from exc
    return keras
