"""Short alias of :mod:`chariots.pipelines.callbacks`."""
from chariots.pipelines.callbacks import *  # noqa: F401,F403
from chariots.pipelines.callbacks import __all__  # noqa: F401
