"""Ops whose state is saved to and loaded from an op store."""
from __future__ import annotations

from chariots.pipelines.ops._base_op import BaseOp


class LoadableOp(BaseOp):
    """An op with state: pipelines save its :meth:`serialize` bytes and :meth:`load` them back.

    Override :meth:`load`, :meth:`serialize` and :meth:`execute`. ``load`` is called on a
    copy of the op, so it must assign new attribute values rather than mutate shared ones.
    """

    def load(self, serialized_object: bytes) -> None:
        """Sets the op's state from bytes made by :meth:`serialize`.

        :param serialized_object: the bytes of a saved version of this op
        """
        raise NotImplementedError(f"{type(self).__name__} must override load()")

    def serialize(self) -> bytes:
        """Returns the op's state as bytes that :meth:`load` accepts."""
        raise NotImplementedError(f"{type(self).__name__} must override serialize()")
