"""Loading Keras on first use, on the lightest backend unless the user chose one."""
from __future__ import annotations

import os
from types import ModuleType

from chariots.errors import MissingExtraError

#: the backend Keras runs on when ``KERAS_BACKEND`` is not set: jax installs from PyPI as a
#: light CPU-only wheel (``jax[cpu]``), unlike TensorFlow or PyTorch
DEFAULT_BACKEND = "jax"

#: the oldest Keras whose safe mode has no known bypass: 3.14.0 fixes CVE-2026-1462 (code run from a
#: .keras file through a TFSMLayer despite safe_mode) and CVE-2026-0897, after the earlier bypasses
#: (CVE-2025-1550 in 3.9, CVE-2025-8747/9906 in 3.11.0, CVE-2025-9905 through HDF5 in 3.11.3) and
#: an archive path traversal (GHSA-hqp4-2352-xf5r, before 3.14.0)
SAFE_KERAS = (3, 14, 0)

# before the user's own `import keras`, which usually follows `from chariots.keras import KerasOp`
os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)


def import_keras() -> ModuleType:
    """Imports Keras (once), on the ``KERAS_BACKEND`` backend (jax by default).

    :raises MissingExtraError: if Keras or its backend is not installed, or is a release whose
                               safe mode can be bypassed (see :data:`SAFE_KERAS`)
    :returns: the keras module
    """
    try:
        import keras
    except ImportError as exc:
        backend = os.environ.get("KERAS_BACKEND", DEFAULT_BACKEND)
        raise MissingExtraError(f"keras with its {backend!r} backend", "keras") from exc
    check_keras_version(getattr(keras, "__version__", "0"))
    return keras


def check_keras_version(version: str) -> None:
    """Refuses a Keras release older than :data:`SAFE_KERAS`: loading a model of one can run code
    written in its file, ``safe_mode`` or not.

    :raises MissingExtraError: naming the release and the one needed
    """
    parts = []
    for part in version.split(".")[:3]:
        digits = "".join(character for character in part if character.isdigit()) if part[:1].isdigit() else ""
        parts.append(int(digits) if digits else 0)
    if tuple(parts + [0] * (3 - len(parts))) < SAFE_KERAS:
        needed = ".".join(map(str, SAFE_KERAS))
        raise MissingExtraError(
            f"keras {version} is installed, and loading a .keras file with it can run code despite safe_mode "
            f"(CVE-2026-1462 and earlier): chariots needs keras>={needed}; run "
            "`pip install --upgrade 'chariots[keras]'`"
        )
