"""Ops, the atomic computation units of pipelines."""
from chariots.pipelines.ops._base_op import BaseOp
from chariots.pipelines.ops._loadable_op import LoadableOp

__all__ = ["BaseOp", "LoadableOp"]
