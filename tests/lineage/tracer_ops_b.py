"""A stateless class sharing its class name with :class:`tests.lineage.tracer_ops.Mix` (another
module: another op, whatever the name)."""
from __future__ import annotations

from tests.lineage.tracer_ops import Step


class Mix(Step):
    """The other ``Mix``."""
