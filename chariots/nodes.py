"""Short alias of :mod:`chariots.pipelines.nodes`."""
from chariots.pipelines.nodes import *  # noqa: F401,F403
from chariots.pipelines.nodes import __all__  # noqa: F401
