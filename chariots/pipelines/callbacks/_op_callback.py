"""Callbacks run around one op's execution."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List

if TYPE_CHECKING:
    from chariots.pipelines.ops import BaseOp


class OpCallBack:
    """Hooks called before and after an op executes.

    Override :meth:`before_execution`, :meth:`after_execution` or both. The arguments and
    output are given for information: do not modify them.
    """

    def before_execution(self, callback_op: "BaseOp", args: List[Any]) -> None:
        """Called before the op executes (and before its own ``before_execution``).

        :param callback_op: the op about to execute
        :param args: the arguments it is about to receive
        """

    def after_execution(self, callback_op: "BaseOp", args: List[Any], output: Any) -> None:
        """Called after the op executed (and after its own ``after_execution``).

        :param callback_op: the op that executed
        :param args: the arguments it received
        :param output: what it returned
        """
