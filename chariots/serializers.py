"""Short alias of :mod:`chariots.ml.serializers`."""
from chariots.ml.serializers import *  # noqa: F401,F403
from chariots.ml.serializers import __all__  # noqa: F401
