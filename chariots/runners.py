"""Short alias of :mod:`chariots.pipelines.runners`."""
from chariots.pipelines.runners import *  # noqa: F401,F403
from chariots.pipelines.runners import __all__  # noqa: F401
