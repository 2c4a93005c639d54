"""Short alias of :mod:`chariots.ml.sklearn`."""
from chariots.ml.sklearn import *  # noqa: F401,F403
from chariots.ml.sklearn import __all__  # noqa: F401
