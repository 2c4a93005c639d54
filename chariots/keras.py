"""Short alias of :mod:`chariots.ml.keras`."""
from chariots.ml.keras import *  # noqa: F401,F403
from chariots.ml.keras import __all__  # noqa: F401
