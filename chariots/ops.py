"""Short alias of :mod:`chariots.pipelines.ops`."""
from chariots.pipelines.ops import *  # noqa: F401,F403
from chariots.pipelines.ops import __all__  # noqa: F401
